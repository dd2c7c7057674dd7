"""python manage.py print_labels CODE --layout LAYOUT --copies N --output FILE [--start N] [--format pdf|zpl]
[--qr url|item|sscc] [--lot LOT] [--date-ai 13|17|none] [--date YYYY-MM-DD]"""

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from shipments import labels
from shipments.models import Shipment


class Command(BaseCommand):
    help = "Write a shipment's QR labels to a PDF or ZPL file. --list-layouts names the layouts."

    def add_arguments(self, parser):
        parser.add_argument("code", nargs="?", help="the shipment's public code")
        parser.add_argument("--layout", default="a4-3x7", help="label stock (default a4-3x7); see --list-layouts")
        parser.add_argument("--copies", type=int, default=1, help=f"number of labels, 1 to {labels.MAX_COPIES}")
        parser.add_argument("--start", type=int, default=1, help="first free slot on the first sheet (default 1)")
        parser.add_argument("--format", dest="fmt", choices=labels.FORMATS, default="pdf")
        parser.add_argument("--output", help="file to write; - for standard output")
        parser.add_argument(
            "--qr", choices=labels.QR_KINDS, help="what the QR encodes (default: the retailer's choice)"
        )
        parser.add_argument("--lot", help="the lot of a product Digital Link (--qr item)")
        parser.add_argument("--date-ai", choices=("13", "17", "none"), help="packing date, expiry date or none")
        parser.add_argument("--date", type=date.fromisoformat, help="the date printed (default: from the lot)")
        parser.add_argument("--list-layouts", action="store_true", help="name the layouts and stop")

    def handle(self, *args, code=None, layout, copies, start, fmt, output, list_layouts, **options):
        date_ai = {"none": ""}.get(options["date_ai"], options["date_ai"])
        if list_layouts:
            for item in labels.LAYOUTS.values():
                self.stdout.write(f"{item.name:<15} {item.slots:>3} per page  {item.description}")
            return
        if not code or not output:
            raise CommandError("Give the shipment's public code and --output FILE (or --list-layouts).")
        shipment = Shipment.objects.by_public_code(code).select_related("origin_village", "store__retailer").first()
        if shipment is None:
            raise CommandError(f"No shipment has the public code {code!r}.")
        try:
            content = labels.QrContent.of_retailer(
                shipment.store.retailer, kind=options["qr"], lot=options["lot"], date_ai=date_ai, day=options["date"]
            )
            body, _content_type, _filename = labels.render_labels(shipment, layout, copies, start, fmt, content)
        except labels.LabelError as error:
            raise CommandError(error.message)
        if output == "-":
            sys.stdout.buffer.write(body)
            return
        with open(output, "wb") as handle:
            handle.write(body)
        self.stderr.write(
            f"Wrote {copies} {layout} label(s) for {shipment.public_code} to {output} ({len(body)} bytes)."
        )
