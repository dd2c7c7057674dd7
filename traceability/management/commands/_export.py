"""Shared arguments of export_fsma, export_epcis and export_eu: a lot or a date range, an output file."""

import sys

from django.core.management.base import BaseCommand, CommandError

from traceability import exports
from traceability.models import Batch


class ExportCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--lot", help="a lot code: export its full trace closure")
        parser.add_argument("--from", dest="start", help="first day, YYYY-MM-DD (local time)")
        parser.add_argument("--to", dest="end", help="last day, YYYY-MM-DD, included")
        parser.add_argument("--output", help="file to write (default: standard output)")

    def events(self, options):
        """(events, lot_ids): a lot's closure events and its lots, or a date range's events and None."""
        if options["lot"] and not (options["start"] or options["end"]):
            batch = Batch.objects.filter(lot_code=options["lot"]).first()
            if batch is None:
                raise CommandError(f"Unknown lot code {options['lot']!r}.")
            closure = exports.lot_closure(batch)
            return exports.events_for_lot(batch, closure), closure
        if options["lot"] or not (options["start"] or options["end"]):
            raise CommandError("Give either --lot LOTCODE or --from DATE and --to DATE.")
        try:
            return exports.events_between(*exports.parse_range(options["start"], options["end"])), None
        except exports.InvalidRange as error:
            raise CommandError(str(error))

    def write(self, content: bytes, options) -> None:
        if options["output"]:
            with open(options["output"], "wb") as file:
                file.write(content)
            self.stderr.write(f"Wrote {len(content)} bytes to {options['output']}.")
        else:
            sys.stdout.buffer.write(content)
