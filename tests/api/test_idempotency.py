"""Idempotent POSTs (api/idempotency.py), through the batches resource: replays, conflicts, freed keys."""

import threading
from collections import Counter

from django.db import connection
from django.test import TestCase, TransactionTestCase

from api.models import IdempotencyRecord
from tests.support import api_client, make_api_world, requires_postgres
from traceability.models import Batch

V1 = "/api/v1"


class IdempotencyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def post(self, body, key="key-1", user=None):
        return api_client(user or self.w.alice).post(f"{V1}/batches/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)

    def body(self, quantity="5"):
        return {"farm": self.w.farm.pk, "crop": self.w.crop.pk, "quantity": quantity, "planted_on": "2026-03-01"}

    def test_the_same_key_and_body_replays_the_stored_response_without_a_second_write(self):
        first = self.post(self.body())
        second = self.post(self.body())
        self.assertEqual((first.status_code, second.status_code), (201, 201))
        self.assertEqual(first.json(), second.json())
        self.assertEqual(second["Idempotent-Replayed"], "true")
        self.assertFalse(first.has_header("Idempotent-Replayed"))
        self.assertEqual(Batch.objects.filter(planted_on="2026-03-01").count(), 1)

    def test_the_same_key_with_another_body_is_a_422_and_writes_nothing(self):
        self.post(self.body("5"))
        response = self.post(self.body("6"))
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["error"]["code"], "unprocessable")
        self.assertEqual(Batch.objects.filter(planted_on="2026-03-01").count(), 1)

    def test_keys_are_scoped_to_the_caller_and_the_route(self):
        self.post(self.body())
        self.assertEqual(self.post(self.body(), user=self.w.carol).status_code, 201)
        event = {"batch": self.w.batch.lot_code, "kind": "cooling", "occurred_at": "2026-06-12T08:00:00Z"}
        response = api_client(self.w.alice).post(f"{V1}/events/", event, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
        self.assertEqual(response.status_code, 201)
        self.assertEqual(Batch.objects.filter(planted_on="2026-03-01").count(), 2)

    def test_a_key_claimed_without_an_outcome_is_a_409(self):
        # A claim commits only with its outcome (issue 12), so no request leaves this state behind
        # any more; a row of the old two-transaction scheme still answers 409, never a second run.
        self.post(self.body())
        IdempotencyRecord.objects.update(status_code=None, response=None)
        response = self.post(self.body())
        self.assertEqual(response.status_code, 409)
        self.assertEqual(Batch.objects.filter(planted_on="2026-03-01").count(), 1)

    def test_a_failed_request_frees_its_key_for_a_corrected_retry(self):
        self.assertEqual(self.post(self.body("-1")).status_code, 400)
        self.assertEqual(self.post(self.body("5")).status_code, 201)
        self.assertEqual(IdempotencyRecord.objects.get().status_code, 201)

    def test_a_key_must_be_printable_ascii_of_reasonable_length(self):
        self.assertEqual(self.post(self.body(), key="k" * 256).status_code, 400)
        self.assertEqual(self.post(self.body(), key="").status_code, 400)
        self.assertEqual(Batch.objects.count(), 2)


@requires_postgres
class ConcurrentIdempotencyTests(TransactionTestCase):
    def test_concurrent_duplicates_with_one_key_record_one_batch(self):
        w = make_api_world()
        body = {"farm": w.farm.pk, "crop": w.crop.pk, "quantity": "5", "planted_on": "2026-03-01"}
        statuses = []
        barrier = threading.Barrier(8)

        def send():
            try:
                barrier.wait()
                response = api_client(w.alice).post(f"{V1}/batches/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
                statuses.append((response.status_code, response.get("Idempotent-Replayed"), response.json()["id"]))
            finally:
                connection.close()

        threads = [threading.Thread(target=send) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        batch = Batch.objects.get(planted_on="2026-03-01")
        # The duplicates wait for the first on the key's unique index, then get its outcome (issue 12).
        self.assertEqual(Counter(statuses), {(201, None, batch.pk): 1, (201, "true", batch.pk): 7})
        self.assertEqual(IdempotencyRecord.objects.get().status_code, 201)
