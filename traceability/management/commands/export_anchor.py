from django.core.management.base import BaseCommand, CommandError

from traceability import anchors
from traceability.management.commands.anchor_chains import write
from traceability.models import Anchor


class Command(BaseCommand):
    help = (
        "Write an anchor (the newest that verifies, or --id N) to FILE: the small file an auditor or partner "
        "keeps, to check the record later with `verify_events --anchor FILE`."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--id", type=int, help="this anchor instead of the newest")

    def handle(self, *args, file, id=None, **options):
        keys = anchors.trusted_keys()
        try:
            if id is None:
                anchor, _bad = anchors.latest(keys)
                if anchor is None:
                    raise CommandError("No anchor verifies yet: run anchor_chains first.")
            else:
                row = Anchor.objects.filter(pk=id).first()
                if row is None:
                    raise CommandError(f"No anchor #{id}.")
                anchor = anchors.from_row(row)
                anchors.check_signature(anchor, keys)
        except anchors.AnchorError as exc:
            raise CommandError(str(exc)) from None
        write(self, file, anchor, anchors.public_key_text(keys[anchor.key_id]))
