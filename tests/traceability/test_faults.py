"""Item 3 of issue 12: a request's database connection dies, then the client retries.

The fault is real: another connection ends the request's PostgreSQL backend with
pg_terminate_backend, at a moment a signal of our own code marks (batches_changed is sent right
after the action's transaction commits; post_save of a TraceEvent inside it). After the fault the
test closes its connection, as a server's health check would, and sends the retry.
"""

import uuid
from datetime import timedelta
from decimal import Decimal

import psycopg2
from django.db import connection
from django.db.models.signals import post_save
from django.test import TransactionTestCase

from api.models import IdempotencyRecord
from shipments.models import ShipmentItem
from tests.support import api_client, make_api_world, requires_postgres
from traceability.models import Batch, TraceEvent
from traceability.signals import batches_changed

V1 = "/api/v1"


def terminate_this_connection() -> None:
    """End the calling thread's PostgreSQL backend from another connection, and wait until it is gone."""
    pid = connection.connection.get_backend_pid()
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    killer = psycopg2.connect(**params)
    try:
        killer.autocommit = True
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
    finally:
        killer.close()


class Once:
    """A receiver that kills the connection the first time its signal comes, then stays quiet."""

    def __init__(self):
        self.fired = 0

    def __call__(self, *args, **kwargs):
        if not self.fired:
            self.fired += 1
            terminate_this_connection()


@requires_postgres
class ConnectionDiesTests(TransactionTestCase):
    def setUp(self):
        self.w = make_api_world()
        self.client_ = api_client(self.w.alice)
        self.client_.raise_request_exception = False

    def cut(self, signal, **connect):
        receiver = Once()
        signal.connect(receiver, weak=False, **connect)
        self.addCleanup(signal.disconnect, receiver, **connect)
        return receiver

    def send(self, path: str, body: dict, key: str | None = None, client=None):
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        response = (client or self.client_).post(f"{V1}{path}", body, format="json", **headers)
        connection.close()  # a dead connection is replaced, as CONN_HEALTH_CHECKS does between requests
        return response

    def age_keys(self):
        """Six minutes later: past the five minutes after which the old scheme took a key over."""
        IdempotencyRecord.objects.update(created_at=IdempotencyRecord.objects.get().created_at - timedelta(minutes=6))

    def event(self, **extra):
        return {"batch": self.w.batch.lot_code, "kind": "cooling", "occurred_at": "2026-06-12T08:00:00Z"} | extra

    def test_a_key_whose_connection_dies_after_the_commit_is_replayed_and_never_run_twice(self):
        cut = self.cut(batches_changed)
        first = self.send("/events/", self.event(data={"temperature_c": 3}), key="phone-1")
        self.assertEqual(cut.fired, 1)
        retry = self.send("/events/", self.event(data={"temperature_c": 3}), key="phone-1")
        self.age_keys()
        late = self.send("/events/", self.event(data={"temperature_c": 3}), key="phone-1")
        event = TraceEvent.objects.get()
        self.assertEqual(first.status_code, 201)
        for response in (retry, late):
            self.assertEqual((response.status_code, response["Idempotent-Replayed"]), (201, "true"))
            self.assertEqual(response.json()["client_id"], str(event.client_id))
        self.assertEqual(IdempotencyRecord.objects.get().status_code, 201)

    def test_a_key_whose_connection_dies_before_the_commit_keeps_nothing_and_the_retry_runs_once(self):
        cut = self.cut(post_save, sender=TraceEvent)
        first = self.send("/events/", self.event(), key="phone-2")
        self.assertEqual((cut.fired, first.status_code), (1, 500))
        self.assertEqual((TraceEvent.objects.count(), IdempotencyRecord.objects.count()), (0, 0))
        retry = self.send("/events/", self.event(), key="phone-2")
        again = self.send("/events/", self.event(), key="phone-2")
        self.assertEqual((retry.status_code, again.status_code, again["Idempotent-Replayed"]), (201, 201, "true"))
        self.assertEqual(TraceEvent.objects.get().client_id, uuid.UUID(retry.json()["client_id"]))

    def test_an_item_whose_connection_dies_after_the_commit_is_added_once(self):
        rita = api_client(self.w.rita)
        rita.raise_request_exception = False
        self.cut(batches_changed)
        body = {"batch": self.w.batch.lot_code, "quantity": "30"}
        path = f"/shipments/{self.w.shipment.pk}/items/"
        responses = [self.send(path, body, key="truck-7", client=rita)]
        responses.append(self.send(path, body, key="truck-7", client=rita))
        self.age_keys()
        responses.append(self.send(path, body, key="truck-7", client=rita))
        self.assertEqual([r.status_code for r in responses], [201, 201, 201])
        self.assertEqual(ShipmentItem.objects.get().quantity, Decimal("30"))
        self.assertEqual(Batch.objects.get(pk=self.w.batch.pk).allocated_quantity, Decimal("30"))

    def test_an_event_retried_with_its_client_id_after_the_connection_died_is_recorded_once(self):
        self.cut(batches_changed)
        body = self.event(client_id=str(uuid.uuid4()))
        first = self.send("/events/", body)
        retry = self.send("/events/", body)
        # The event committed before the fault, which only lost the answer: the retry gets the event.
        self.assertEqual((first.status_code, retry.status_code), (500, 200))
        self.assertEqual(str(TraceEvent.objects.get().client_id), body["client_id"])

    def test_a_transformation_retried_with_its_client_id_after_the_connection_died_makes_one_lot(self):
        self.cut(batches_changed)
        body = {
            "farm": self.w.farm.pk,
            "crop": self.w.crop.pk,
            "quantity": "20",
            "client_id": str(uuid.uuid4()),
            "inputs": [{"batch": self.w.batch.lot_code, "quantity": "20"}],
        }
        first = self.send("/transformations/", body)
        retry = self.send("/transformations/", body)
        self.assertEqual((first.status_code, retry.status_code), (500, 200))
        made = Batch.objects.exclude(pk__in=[self.w.batch.pk, self.w.other_batch.pk])
        self.assertEqual([lot.lot_code for lot in made], [retry.json()["lot_code"]])
        self.assertEqual(Batch.objects.get(pk=self.w.batch.pk).allocated_quantity, Decimal("20"))
