from django.core.management.base import BaseCommand, CommandError

from farms.models import Village
from traceability.chain import verify_all
from traceability.trace import lineage_errors


class Command(BaseCommand):
    help = (
        "Walk every village's event hash chain and report the first broken link of each, and check "
        "that the lineage table equals the closure of the transformation links; exit 1 on any fault."
    )

    def add_arguments(self, parser):
        parser.add_argument("--village", help="only this village code")

    def handle(self, *args, village=None, **options):
        villages = Village.objects.order_by("pk")
        if village:
            villages = villages.filter(code=village)
            if not villages.exists():
                raise CommandError(f"Unknown village code {village!r}.")
        broken = verify_all(villages)
        for link in broken:
            self.stderr.write(f"BROKEN: {link}")
        missing, extra = lineage_errors()
        if missing or extra:
            self.stderr.write(f"BROKEN: lineage table: {missing} pair(s) missing, {extra} pair(s) no link gives")
        if broken or missing or extra:
            raise CommandError(f"{len(broken)} broken chain(s), {missing + extra} lineage fault(s).")
        self.stdout.write(
            f"OK: {villages.count()} village chain(s) verified, no broken link; lineage matches the links."
        )
