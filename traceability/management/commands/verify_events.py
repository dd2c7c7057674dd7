from django.core.management.base import BaseCommand, CommandError

from farms.models import Village
from traceability.chain import verify_all


class Command(BaseCommand):
    help = "Walk every village's event hash chain and report the first broken link of each; exit 1 if any."

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
        if broken:
            raise CommandError(f"{len(broken)} broken chain(s).")
        self.stdout.write(f"OK: {villages.count()} village chain(s) verified, no broken link.")
