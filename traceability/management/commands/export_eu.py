from traceability import exports
from traceability.management.commands._export import ExportCommand


class Command(ExportCommand):
    help = "EU 931/2011 consignment list (CSV) for a lot or a date range."

    def handle(self, *args, **options):
        events, lot_ids = self.events(options)
        self.write(exports.eu_csv(events, lot_ids=lot_ids), options)
