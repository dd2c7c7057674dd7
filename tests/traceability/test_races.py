"""Races of "What was seen" (issue 12), each on PostgreSQL with real threads released together by a
barrier. Every test here failed on main before the lock order of docs/architecture.md ("Concurrency").

Threads talk to the database through their own connections (Django opens one per thread) and close
them when done; the test's own connection reads the outcome after every thread has finished.
"""

import threading
import uuid
from collections import Counter
from decimal import Decimal

from django.db import connection
from django.db.models import Sum
from django.test import Client, TransactionTestCase

from shipments import services as shipping
from shipments.models import Shipment, ShipmentItem
from tests.support import api_client, make_api_world, make_batch, requires_postgres
from traceability import services
from traceability.models import Batch, Recall, TraceEvent

V1 = "/api/v1"


def race(*jobs) -> list:
    """Run each job in its own thread, all released at once; return what each returned (or the
    exception it raised), in the jobs' order."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as exc:  # the outcome of the race, asserted by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, job)) for index, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def status_of(response) -> int:
    return response.status_code if not isinstance(response, Exception) else 0


@requires_postgres
class RecallAgainstEventTests(TransactionTestCase):
    """Item 1: a recall and a harvest on one growing lot at the same moment."""

    TRIES = 12

    def setUp(self):
        self.w = make_api_world()

    def growing_lot(self, number: int) -> Batch:
        return make_batch(
            self.w.farm, self.w.crop, f"XJ-WAX-20260612-{number:03d}", status="growing", harvested_on=None
        )

    def escaped(self) -> list[str]:
        """Lots with an open recall that are not recalled: a hold escaped."""
        open_recalls = Recall.objects.open().select_related("batch")
        return [recall.batch.lot_code for recall in open_recalls if recall.batch.status != "recalled"]

    def test_through_the_api_a_recalled_lot_never_ends_harvested(self):
        outcomes = Counter()
        for number in range(100, 100 + self.TRIES):
            lot = self.growing_lot(number)
            harvest = {"batch": lot.lot_code, "kind": "harvest", "occurred_at": "2026-06-12T06:00:00Z"}
            recall, event = race(
                lambda lot=lot: api_client(self.w.carol).post(
                    f"{V1}/recalls/", {"batch": lot.lot_code, "reason": "农残超标"}, format="json"
                ),
                lambda harvest=harvest: api_client(self.w.alice).post(f"{V1}/events/", harvest, format="json"),
            )
            outcomes[(status_of(recall), status_of(event))] += 1
        self.assertEqual(self.escaped(), [])
        # The recall always wins or waits: the harvest is either recorded before it (201) or
        # refused after it (409, the lot is held); never a 500.
        self.assertEqual(set(outcomes) - {(201, 201), (201, 409)}, set())
        self.assertEqual(Recall.objects.open().count(), self.TRIES)
        self.assertEqual(
            set(Batch.objects.filter(recalls__isnull=False).values_list("status", flat=True)), {"recalled"}
        )

    def test_through_the_services_a_recalled_lot_never_ends_harvested(self):
        for number in range(200, 200 + self.TRIES):
            lot = self.growing_lot(number)
            race(
                lambda lot=lot: services.open_recall(batch=lot, reason="农残超标", actor=self.w.carol),
                lambda lot=lot: services.record_batch_event(
                    batch=lot, kind="harvest", occurred_at=lot.created_at, actor=self.w.alice
                ),
            )
        self.assertEqual(self.escaped(), [])
        self.assertEqual(Recall.objects.open().count(), self.TRIES)


@requires_postgres
class DoubleRemoveTests(TransactionTestCase):
    """Item 2: a 100 kg lot, 30 kg in each of two shipments; S1's line removed ten times at once."""

    def setUp(self):
        self.w = make_api_world()
        self.s1 = self.w.shipment
        self.s2 = Shipment.objects.create(origin_village=self.w.xj, store=self.w.store)
        self.item = shipping.add_item(shipment=self.s1, batch=self.w.batch, quantity=Decimal("30"))
        shipping.add_item(shipment=self.s2, batch=self.w.batch, quantity=Decimal("30"))

    def assert_allocated_is_what_the_shipments_hold(self, expected: str):
        batch = Batch.objects.get(pk=self.w.batch.pk)
        held = ShipmentItem.objects.filter(batch=batch).aggregate(total=Sum("quantity"))["total"]
        self.assertEqual((batch.allocated_quantity, held), (Decimal(expected), Decimal(expected)))

    def test_ten_api_deletes_remove_the_line_once_and_the_rest_answer_404(self):
        url = f"{V1}/shipments/{self.s1.pk}/items/{self.item.pk}/"
        responses = race(*[lambda: api_client(self.w.rita).delete(url) for _ in range(10)])
        self.assertEqual(sorted(status_of(r) for r in responses), [204] + [404] * 9)
        self.assert_allocated_is_what_the_shipments_hold("30")
        # The lot gives only what it has left: 70 kg, not 100.
        add = api_client(self.w.rita).post(
            f"{V1}/shipments/{self.s1.pk}/items/", {"batch": self.w.batch.lot_code, "quantity": "100"}
        )
        self.assertEqual(add.status_code, 409)
        self.assert_allocated_is_what_the_shipments_hold("30")

    def test_a_double_tap_on_the_web_remove_button_takes_the_line_out_once_without_a_500(self):
        taken_out = "Lot XJ-WAX-20260612-001 was taken out."
        gone = "Lot XJ-WAX-20260612-001 is no longer in this shipment: it was already taken out."

        def tap():
            client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
            client.force_login(self.w.rita)
            response = client.post(
                f"/shipments/{self.s1.public_code}/items/remove/", {"lot": self.w.batch.lot_code}, follow=True
            )
            # The page, not response.context: the test client collects contexts through a global
            # signal, which every thread's rendering reaches.
            page = response.content.decode()
            return response.status_code, [message for message in (taken_out, gone) if message in page]

        results = race(*[tap for _ in range(10)])
        self.assertEqual(Counter(status for status, _messages in results), {200: 10})
        self.assertEqual(Counter(tuple(shown) for _status, shown in results), {(taken_out,): 1, (gone,): 9})
        self.assert_allocated_is_what_the_shipments_hold("30")

    def test_ten_service_calls_with_one_stale_item_release_its_quantity_once(self):
        # Each caller read the line before the race, as ten requests would.
        stale = [ShipmentItem.objects.get(pk=self.item.pk) for _ in range(10)]
        results = race(*[lambda item=item: shipping.remove_item(item=item) for item in stale])
        self.assertEqual(Counter(type(r).__name__ for r in results), {"NoneType": 1, "ItemGone": 9})
        self.assert_allocated_is_what_the_shipments_hold("30")

    def test_fifty_racing_adds_and_removes_never_ship_more_than_the_lot(self):
        s3 = Shipment.objects.create(origin_village=self.w.xj, store=self.w.store)
        remove = f"{V1}/shipments/{self.s1.pk}/items/{self.item.pk}/"
        add = f"{V1}/shipments/{s3.pk}/items/"
        jobs = [lambda: api_client(self.w.rita).delete(remove) for _ in range(10)]
        jobs += [
            lambda: api_client(self.w.rita).post(add, {"batch": self.w.batch.lot_code, "quantity": "10"})
            for _ in range(40)
        ]
        responses = race(*jobs)
        deletes = Counter(status_of(r) for r in responses[:10])
        adds = Counter(status_of(r) for r in responses[10:])
        self.assertEqual(deletes, {204: 1, 404: 9})
        self.assertEqual(set(adds), {201, 409})
        batch = Batch.objects.get(pk=self.w.batch.pk)
        shipped = ShipmentItem.objects.filter(batch=batch).aggregate(total=Sum("quantity"))["total"]
        self.assertEqual(batch.allocated_quantity, shipped)
        self.assertLessEqual(shipped, Decimal("100"))
        # What each successful add took is exactly what S3 holds.
        self.assertEqual(ShipmentItem.objects.get(shipment=s3).quantity, Decimal("10") * adds[201])


@requires_postgres
class DuplicateRequestTests(TransactionTestCase):
    """Item 4: ten identical transformations, ten corrections of one event, ten recalls of one lot."""

    def setUp(self):
        self.w = make_api_world()

    def test_ten_identical_transformations_with_one_client_id_make_one_lot(self):
        body = {
            "farm": self.w.farm.pk,
            "crop": self.w.crop.pk,
            "quantity": "20",
            "kind": "sorting",
            "client_id": str(uuid.uuid4()),
            "inputs": [{"batch": self.w.batch.lot_code, "quantity": "20"}],
        }
        responses = race(
            *[lambda: api_client(self.w.alice).post(f"{V1}/transformations/", body, format="json") for _ in range(10)]
        )
        self.assertEqual(sorted(status_of(r) for r in responses), [200] * 9 + [201])
        self.assertEqual(len({r.json()["lot_code"] for r in responses}), 1)
        self.assertEqual(Batch.objects.exclude(pk__in=[self.w.batch.pk, self.w.other_batch.pk]).count(), 1)
        self.assertEqual(TraceEvent.objects.filter(kind="transformation").count(), 1)
        self.assertEqual(Batch.objects.get(pk=self.w.batch.pk).allocated_quantity, Decimal("20"))

    def test_ten_concurrent_corrections_of_one_event_make_one_and_the_rest_answer_409(self):
        event, _ = services.record_batch_event(
            batch=self.w.batch, kind="cooling", occurred_at=self.w.batch.created_at, data={"temperature_c": 40}
        )
        body = {"kind": "correction", "corrects": str(event.client_id), "correction_reason": "did_not_occur"}
        responses = race(
            *[lambda: api_client(self.w.carol).post(f"{V1}/events/", body, format="json") for _ in range(10)]
        )
        self.assertEqual(sorted(status_of(r) for r in responses), [201] + [409] * 9)
        self.assertEqual(
            {r.json()["error"]["message"] for r in responses if r.status_code == 409},
            {"This event has already been corrected."},
        )
        self.assertEqual(TraceEvent.objects.filter(kind="correction").count(), 1)

    def test_ten_concurrent_recalls_of_one_lot_leave_one_open(self):
        body = {"batch": self.w.batch.lot_code, "reason": "农残超标"}
        responses = race(
            *[lambda: api_client(self.w.carol).post(f"{V1}/recalls/", body, format="json") for _ in range(10)]
        )
        self.assertEqual(sorted(status_of(r) for r in responses), [201] + [409] * 9)
        self.assertEqual(Recall.objects.open().count(), 1)
        self.assertEqual(Batch.objects.get(pk=self.w.batch.pk).status, "recalled")
