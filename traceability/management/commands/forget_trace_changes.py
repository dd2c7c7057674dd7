from django.core.management.base import BaseCommand

from traceability.trace import forget_trace_changes


class Command(BaseCommand):
    help = (
        "Delete the trace-change records (PostgreSQL) older than --days, after dropping the stored "
        "traces that did not see them. Run it daily from cron; nothing to do on SQLite."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7, help="keep changes younger than this (default 7)")

    def handle(self, *args, days, **options):
        dropped, deleted = forget_trace_changes(older_than_days=max(days, 1))
        self.stdout.write(f"{deleted} trace change(s) deleted, {dropped} stored trace(s) dropped.")
