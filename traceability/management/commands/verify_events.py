from django.core.management.base import BaseCommand, CommandError

from farms.models import Village
from traceability import anchors
from traceability.verification import verify


class Command(BaseCommand):
    help = (
        "Verify the record: walk every village's event hash chain, check the chains against the newest "
        "anchor (or the one in --anchor FILE), and check every lot, transformation link, lineage pair, "
        "status, shipment and allocation against the events that recorded it. Names each problem and "
        "exits 1 on any; keeps the result per chain for the trace and consumer pages."
    )

    def add_arguments(self, parser):
        parser.add_argument("--village", help="only this village code's chain (and the facts it records)")
        parser.add_argument("--anchor", metavar="FILE", help="verify against this anchor file (export_anchor)")
        parser.add_argument(
            "--progress-every",
            type=int,
            default=100_000,
            metavar="N",
            help="on a database of at least N events, say how far it got every N events (default 100,000)",
        )
        parser.add_argument(
            "--trust",
            metavar="PUBLIC_KEY",
            action="append",
            default=[],
            help="also trust this public key (base64) for the anchor's signature; repeatable",
        )

    def handle(self, *args, village=None, anchor=None, trust=(), progress_every=100_000, **options):
        if progress_every < 1:
            raise CommandError("--progress-every must be at least 1.")
        self.every, self.shown = progress_every, 0
        villages = Village.objects.order_by("pk")
        if village:
            villages = villages.filter(code=village)
            if not villages.exists():
                raise CommandError(f"Unknown village code {village!r}.")
        try:
            kept = anchors.from_file(anchor) if anchor else None
            report = verify(villages=villages, anchor=kept, trust=trust, progress=self.progress)
        except anchors.AnchorError as exc:
            raise CommandError(str(exc)) from None
        for problem in report.problems:
            self.stderr.write(f"BROKEN: {problem}")
        if report.problems:
            raise CommandError(f"{len(report.problems)} problem(s): the record does not verify.")
        counts = ", ".join(f"{n:,} {name}" for name, n in report.counts.items())
        self.stdout.write(
            f"OK: {report.villages:,} village chain(s), {report.events:,} event(s) verified, no broken link; "
            f"{counts} agree with the chain; lineage matches the links."
        )
        if report.anchor is None:
            self.stderr.write(
                "WARNING: no anchor: a chain rewritten or cut short by someone with database access would go "
                "unnoticed. Run anchor_chains (docs/deployment.md, Anchoring)."
            )
        else:
            self.stdout.write(
                f"Anchored: every chain still holds its head of {report.anchor} (key {report.anchor.key_id})."
            )

    def progress(self, village, read: int, total: int) -> None:
        """A line every `--progress-every` events of a large database (the walk calls this every
        2,000 events of a chain), and one when the fact checks start."""
        if total < self.every:
            return
        if village is None:
            self.stdout.write(f"  {read:,} event(s) verified; checking lots, links, shipments and allocations...")
        elif read // self.every != self.shown:
            self.shown = read // self.every
            self.stdout.write(f"  {read:,} of {total:,} event(s) verified (chain {village.code})")
        else:
            return
        self.stdout.flush()
