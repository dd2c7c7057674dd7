"""Signals other apps listen to. Traceability never imports them; they subscribe here.

`batches_changed` is sent (after commit) whenever something that a consumer page shows about a
batch changes: a new event, a correction, a status change, a recall opening or closing.
Receivers get `batch_ids`, a set of Batch primary keys.
"""

from django.dispatch import Signal

batches_changed = Signal()


def announce(batch_ids) -> None:
    """Send batches_changed once the current transaction commits (at once outside one)."""
    from django.db import transaction

    ids = frozenset(batch_ids)
    if ids:
        transaction.on_commit(lambda: batches_changed.send(sender=None, batch_ids=ids))
