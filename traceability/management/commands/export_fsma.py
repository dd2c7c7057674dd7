from traceability import exports
from traceability.management.commands._export import ExportCommand


class Command(ExportCommand):
    help = "FSMA 204 electronic sortable spreadsheet (CSV or XLSX) for a lot or a date range."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
        # Whoever runs manage.py reads the database: they get what a superuser's export has.
        parser.add_argument(
            "--without-harvester",
            action="store_true",
            help="leave the harvester's name and phone empty (for a file that does not go to a regulator)",
        )

    def handle(self, *args, **options):
        events, lot_ids = self.events(options)
        render = exports.fsma_xlsx if options["format"] == "xlsx" else exports.fsma_csv
        self.write(render(events, lot_ids=lot_ids, harvester=not options["without_harvester"]), options)
