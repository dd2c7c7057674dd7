from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from traceability.models import Batch
from traceability.trace import DIRECTIONS, trace_lot


def local(moment) -> str:
    """In the display time zone (TIME_ZONE, Asia/Shanghai), as the web pages show it, with its offset."""
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M%z}" if moment else "-"


class Command(BaseCommand):
    help = (
        "Trace a lot backward (inputs, farms, fields, villages) and/or forward (lots made from it, shipments, stores)."
    )

    def add_arguments(self, parser):
        parser.add_argument("lot_code")
        parser.add_argument("--direction", choices=DIRECTIONS, default="both")

    def handle(self, *args, lot_code, direction, **options):
        batch = Batch.objects.filter(lot_code=lot_code).first()
        if batch is None:
            raise CommandError(f"Unknown lot code {lot_code!r}.")
        trace = trace_lot(batch, direction=direction)
        lot = trace.lot
        write = self.stdout.write
        write(f"Lot {lot.lot_code}: {lot.crop_name_zh} {lot.quantity} {lot.unit}, status {lot.status}")
        write(f"  from {lot.farm_name_zh} / {lot.field_name_zh or '-'} / {lot.village_name_zh} ({lot.village_code})")
        if direction in ("both", "backward"):
            write(f"Backward: {len(trace.ancestors)} input lot(s)")
            for a in trace.ancestors:
                write(f"  {a.lot_code}  {a.farm_name_zh} / {a.field_name_zh or '-'} / {a.village_name_zh}")
        if direction in ("both", "forward"):
            write(f"Forward: {len(trace.descendants)} lot(s) made from it")
            for d in trace.descendants:
                write(f"  {d.lot_code}  {d.quantity} {d.unit}  {d.status}")
            write(f"Shipments: {len(trace.shipments)}")
            for stop in trace.shipments:
                lots = ", ".join(f"{code} {qty} {unit}" for code, qty, unit in stop.lots)
                shipped, received = local(stop.shipped_at), local(stop.received_at)
                write(
                    f"  {stop.shipment} -> {stop.store} ({stop.store_city}, {stop.retailer}) "
                    f"{shipped} / {received}: {lots}"
                )
        write("Links:")
        for link in trace.links:
            write(f"  {link.input_lot} --{link.quantity}--> {link.output_lot}")
