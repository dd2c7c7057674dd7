from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from farms.models import Village
from traceability.imports import ImportFileError, import_batches


class Command(BaseCommand):
    help = (
        "Import batches into a village from a CSV or Excel sheet, every row or none (the same import as "
        "the web page). A file imported into the village before is refused unless --new-data says it "
        "holds new batches."
    )

    def add_arguments(self, parser):
        parser.add_argument("village", help="the village's code, e.g. XJ")
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", help="the username recorded as importer (default: none)")
        parser.add_argument("--new-data", action="store_true", help="the file was imported before and holds new data")

    def handle(self, *args, village, file, user, new_data, **options):
        place = Village.objects.filter(code=village).first()
        if place is None:
            raise CommandError(f"Unknown village code {village!r}.")
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"Unknown user {user!r}.")
        try:
            with file.open("rb") as handle:
                result = import_batches(village=place, file=handle, actor=actor, new_data=new_data)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.")
        except ImportFileError as exc:
            raise CommandError(str(exc))
        if not result.ok:
            for error in result.errors:
                self.stderr.write(f"row {error.row}: {error.message}")
            raise CommandError("Nothing was imported: fix the rows above and import the file again.")
        for batch in result.batches:
            self.stdout.write(batch.lot_code)
        self.stdout.write(f"{len(result.batches)} batches imported into {place.code}.")
