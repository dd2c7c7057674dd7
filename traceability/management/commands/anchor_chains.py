from django.core.management.base import BaseCommand, CommandError

from traceability import anchors


class Command(BaseCommand):
    help = (
        "Anchor every village chain's head (last seq and hash) in a record signed with the Ed25519 key of "
        "ANCHOR_SIGNING_KEY or ANCHOR_SIGNING_KEY_FILE, after checking that each chain links up from the "
        "previous anchor. Run it on a schedule (docs/deployment.md). Refuses, writing nothing, without a "
        "usable key or when a chain does not verify."
    )

    def add_arguments(self, parser):
        parser.add_argument("--export", metavar="FILE", help="also write the (new or latest) anchor to FILE")
        parser.add_argument(
            "--show-key", action="store_true", help="print the signing key's id and public key, write nothing"
        )

    def handle(self, *args, export=None, show_key=False, **options):
        self.shown = 0
        try:
            key = anchors.signing_key()
        except anchors.AnchorError as exc:
            raise CommandError(f"{exc} Nothing was anchored.") from None
        public = anchors.public_key_text(key.public_key())
        if show_key:
            self.stdout.write(f"key id {anchors.key_id(key.public_key())}\npublic key {public}")
            return
        try:
            row, anchor = anchors.anchor_chains(key=key, progress=self.progress)
        except anchors.AnchorError as exc:
            raise CommandError(str(exc)) from None
        if row is None:
            self.stdout.write(f"No chain has grown since {anchor}: nothing new to anchor.")
        else:
            heads = ", ".join(f"{head.village} seq {head.seq}" for head in anchor.heads) or "no chain has events yet"
            self.stdout.write(f"Anchored: {anchor} (key {anchor.key_id}): {heads}.")
        if export:
            write(self, export, anchor, public)

    def progress(self, village, read: int) -> None:
        """A line every 100,000 events walked (the walk calls this every 2,000 events of a chain)."""
        if read // 100_000 != self.shown:
            self.shown = read // 100_000
            self.stdout.write(f"  {read:,} new event(s) checked (chain {village.code})")
            self.stdout.flush()


def write(command: BaseCommand, path: str, anchor: anchors.Anchor, public_key: str) -> None:
    try:
        with open(path, "wb") as file:
            file.write(anchors.to_file(anchor, public_key))
    except OSError as exc:
        raise CommandError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    command.stdout.write(f"Exported {anchor} to {path}.")
