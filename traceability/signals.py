"""Signals other apps listen to. Traceability never imports them; they subscribe here.

`batches_changed` is sent (after commit) whenever something that a consumer page shows about a
batch changes: a new event, a correction, a status change, a recall opening or closing, an edit
of the batch itself. Receivers get `batch_ids`, a set of Batch primary keys.
"""

from django.db.models.signals import post_save
from django.dispatch import Signal, receiver

batches_changed = Signal()


def announce(batch_ids) -> None:
    """Send batches_changed once the current transaction commits (at once outside one)."""
    from django.db import transaction

    ids = frozenset(batch_ids)
    if ids:
        transaction.on_commit(lambda: batches_changed.send(sender=None, batch_ids=ids))


@receiver(post_save, sender="traceability.Batch", dispatch_uid="traceability_batch_saved")
def _batch_saved(sender, instance, created: bool, **kwargs) -> None:
    # The services change batches with update() and announce what they change; a batch saved
    # through the model (the admin, the API's batch update) is announced here. A new batch is
    # on no page yet.
    if not created:
        announce([instance.pk])
