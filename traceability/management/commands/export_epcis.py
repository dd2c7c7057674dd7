from traceability import exports
from traceability.management.commands._export import ExportCommand


class Command(ExportCommand):
    help = "EPCIS 2.0 JSON-LD document for a lot or a date range."

    def handle(self, *args, **options):
        events, _lot_ids = self.events(options)
        self.write(exports.epcis_json(events), options)
