"""The traceability resources of the API: batches, trace events, recalls, transformations
(idempotent POSTs are tested in tests/api/test_idempotency.py)."""

import uuid
from decimal import Decimal

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.support import api_client, make_api_world, make_batch
from traceability.models import Batch, Recall, TraceEvent

V1 = "/api/v1"


class BatchTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def test_a_farmer_registers_a_batch_with_the_next_lot_code_and_is_its_creator(self):
        body = {"farm": self.w.farm.pk, "field": self.w.field.pk, "crop": self.w.crop.pk, "quantity": "250.5"}
        body |= {"unit": "kg", "planted_on": "2026-03-01"}
        response = api_client(self.w.alice).post(f"{V1}/batches/", body, format="json")
        self.assertEqual(response.status_code, 201, response.content)
        # Not harvested yet: the lot code carries the registration day.
        lot_code = f"XJ-WAX-{timezone.localdate():%Y%m%d}-001"
        self.assertEqual(response.json()["lot_code"], lot_code)
        batch = Batch.objects.get(lot_code=lot_code)
        self.assertEqual((batch.created_by, batch.quantity, batch.status), (self.w.alice, Decimal("250.5"), "growing"))

    def test_a_batch_cannot_be_registered_on_another_tenants_farm_or_field(self):
        client = api_client(self.w.alice)
        body = {"farm": self.w.other_farm.pk, "crop": self.w.crop.pk, "quantity": "5", "unit": "kg"}
        self.assertEqual(client.post(f"{V1}/batches/", body, format="json").status_code, 404)
        body = {"farm": self.w.farm.pk, "field": self.w.other_field.pk, "crop": self.w.crop.pk, "quantity": "5"}
        self.assertEqual(client.post(f"{V1}/batches/", body, format="json").status_code, 404)
        # Retailer staff see the farm but may not register batches on it.
        body = {"farm": self.w.farm.pk, "crop": self.w.crop.pk, "quantity": "5"}
        self.assertEqual(api_client(self.w.rita).post(f"{V1}/batches/", body, format="json").status_code, 404)
        self.assertEqual(Batch.objects.count(), 2)

    def test_protected_batch_fields_are_refused_and_never_saved(self):
        client = api_client(self.w.alice)
        hostile = {
            "status": "packed",
            "allocated_quantity": "0",
            "created_by": self.w.bob.pk,
            "created_at": "2020-01-01T00:00:00Z",
            "id": 999,
            "remaining_quantity": "1000",
        }
        body = {"farm": self.w.farm.pk, "crop": self.w.crop.pk, "quantity": "5"}
        for name, value in hostile.items():
            response = client.post(f"{V1}/batches/", body | {name: value}, format="json")
            self.assertEqual(response.status_code, 400, name)
            self.assertEqual(list(response.json()["error"]["fields"]), [name])
            response = client.patch(f"{V1}/batches/{self.w.batch.lot_code}/", {name: value}, format="json")
            self.assertEqual(response.status_code, 400, name)
        for name in ["quantity", "lot_code", "farm"]:
            response = client.patch(f"{V1}/batches/{self.w.batch.lot_code}/", {name: "1"}, format="json")
            self.assertEqual(response.status_code, 400, name)
        self.assertEqual(Batch.objects.count(), 2)
        batch = Batch.objects.get(pk=self.w.batch.pk)
        self.assertEqual(
            (batch.status, batch.allocated_quantity, batch.created_by, batch.quantity),
            ("harvested", Decimal("0"), None, Decimal("100")),
        )

    def test_a_farmer_annotates_their_batch_but_not_another_tenants(self):
        client = api_client(self.w.alice)
        response = client.patch(f"{V1}/batches/{self.w.batch.lot_code}/", {"notes": "鸟害少"}, format="json")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["notes"], "鸟害少")
        other = f"{V1}/batches/{self.w.other_batch.lot_code}/"
        self.assertEqual(client.get(other).status_code, 404)
        self.assertEqual(client.patch(other, {"notes": "x"}, format="json").status_code, 404)
        # Lots are records: no one deletes them, so DELETE is 405 for every lot alike.
        self.assertEqual(client.delete(other).status_code, 405)
        self.assertEqual(Batch.objects.get(pk=self.w.other_batch.pk).notes, "")

    def test_a_harvest_before_planting_is_a_400_not_a_database_error(self):
        response = api_client(self.w.alice).patch(
            f"{V1}/batches/{self.w.batch.lot_code}/", {"planted_on": "2026-07-01"}, format="json"
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(list(response.json()["error"]["fields"]), ["harvested_on"])

    def test_quantities_beyond_the_column_are_refused(self):
        body = {"farm": self.w.farm.pk, "crop": self.w.crop.pk, "unit": "kg"}
        for quantity in ["1e12", "123456789012", "0", "-1", "0.0001", "NaN", 10**40]:
            response = api_client(self.w.alice).post(f"{V1}/batches/", body | {"quantity": quantity}, format="json")
            self.assertEqual(response.status_code, 400, quantity)
        self.assertEqual(Batch.objects.count(), 2)

    def test_batch_lists_do_not_grow_queries_with_page_size(self):
        for n in range(20):
            make_batch(self.w.farm, self.w.crop, f"XJ-WAX-20260613-{n:03d}")
        client = api_client(self.w.rita)
        counts = []
        for size in (2, 20):
            with CaptureQueriesContext(connection) as queries:
                self.assertEqual(len(client.get(f"{V1}/batches/?page_size={size}").json()["results"]), size)
            counts.append(len(queries))
        self.assertEqual(counts[0], counts[1])


class TraceEventTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def event(self, **extra):
        return {"batch": self.w.batch.lot_code, "kind": "cooling", "occurred_at": "2026-06-12T08:00:00+08:00"} | extra

    def test_a_farmer_records_an_event_with_the_phones_time_and_the_servers_recorded_at(self):
        client_id = str(uuid.uuid4())
        body = self.event(client_id=client_id, data={"temperature_c": 4})
        response = api_client(self.w.alice).post(f"{V1}/events/", body, format="json")
        self.assertEqual(response.status_code, 201, response.content)
        event = TraceEvent.objects.get(client_id=client_id)
        self.assertEqual(event.occurred_at.isoformat(), "2026-06-12T00:00:00+00:00")
        self.assertGreater(event.recorded_at, event.occurred_at)
        self.assertEqual((event.actor, event.data, event.kind), (self.w.alice, {"temperature_c": 4}, "cooling"))
        self.assertEqual(
            response.json()["lines"],
            [{"lot_code": self.w.batch.lot_code, "role": "subject", "quantity": None, "unit": ""}],
        )

    def test_a_phone_resending_the_same_client_id_gets_the_first_event_back(self):
        client = api_client(self.w.alice)
        body = self.event(client_id=str(uuid.uuid4()))
        first = client.post(f"{V1}/events/", body, format="json")
        second = client.post(f"{V1}/events/", body, format="json")
        self.assertEqual((first.status_code, second.status_code), (201, 200))
        self.assertEqual(first.json()["id"], second.json()["id"])
        self.assertEqual(TraceEvent.objects.count(), 1)

    def test_a_harvest_event_moves_a_growing_batch_forward(self):
        batch = make_batch(self.w.farm, self.w.crop, "XJ-WAX-20260701-001", status="growing", harvested_on=None)
        body = self.event(batch=batch.lot_code, kind="harvest", quantity="80")
        self.assertEqual(api_client(self.w.alice).post(f"{V1}/events/", body, format="json").status_code, 201)
        batch.refresh_from_db()
        self.assertEqual((batch.status, str(batch.harvested_on)), ("harvested", "2026-06-12"))

    def test_events_on_another_tenants_batch_answer_404_and_are_not_recorded(self):
        body = self.event(batch=self.w.other_batch.lot_code)
        self.assertEqual(api_client(self.w.alice).post(f"{V1}/events/", body, format="json").status_code, 404)
        self.assertEqual(api_client(self.w.rita).post(f"{V1}/events/", self.event(), format="json").status_code, 404)
        self.assertEqual(TraceEvent.objects.count(), 0)

    def test_events_are_never_updated_or_deleted_through_the_api(self):
        api_client(self.w.alice).post(f"{V1}/events/", self.event(), format="json")
        event = TraceEvent.objects.get()
        client = api_client(self.w.alice)
        self.assertEqual(client.patch(f"{V1}/events/{event.pk}/", {"kind": "harvest"}).status_code, 405)
        self.assertEqual(client.delete(f"{V1}/events/{event.pk}/").status_code, 405)
        self.assertEqual(TraceEvent.objects.get().kind, "cooling")

    def test_bad_events_are_refused_with_field_messages(self):
        client = api_client(self.w.alice)
        cases = {
            "kind": self.event(kind="shipping"),
            "occurred_at": self.event(occurred_at="2999-01-01T00:00:00Z"),
            "data": self.event(data={"note": "a\x00b"}),
            "client_id": self.event(client_id="not-a-uuid"),
        }
        for field, body in cases.items():
            response = client.post(f"{V1}/events/", body, format="json")
            self.assertEqual(response.status_code, 400, field)
            self.assertEqual(list(response.json()["error"]["fields"]), [field])
        response = client.post(f"{V1}/events/", self.event(data=["not", "an", "object"]), format="json")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(TraceEvent.objects.count(), 0)

    def test_each_tenant_lists_only_its_events(self):
        api_client(self.w.alice).post(f"{V1}/events/", self.event(), format="json")
        api_client(self.w.bob).post(f"{V1}/events/", self.event(batch=self.w.other_batch.lot_code), format="json")
        lots = {}
        for user in (self.w.alice, self.w.rex, self.w.auditor):
            rows = api_client(user).get(f"{V1}/events/").json()["results"]
            lots[user.username] = sorted(row["lines"][0]["lot_code"] for row in rows)
        self.assertEqual(
            lots,
            {
                "alice": ["XJ-WAX-20260612-001"],
                "rex": ["GN-WAX-20260612-001"],
                "audrey": ["GN-WAX-20260612-001", "XJ-WAX-20260612-001"],
            },
        )

    def test_recalls_are_listed_to_those_who_see_the_batch(self):
        Recall.objects.create(batch=self.w.other_batch, reason="农残超标", opened_by=self.w.rex)
        self.assertEqual(api_client(self.w.alice).get(f"{V1}/recalls/").json()["count"], 0)
        rows = api_client(self.w.auditor).get(f"{V1}/recalls/?open=true").json()["results"]
        self.assertEqual(
            [(r["batch"], r["reason"], r["is_open"]) for r in rows], [("GN-WAX-20260612-001", "农残超标", True)]
        )


class CorrectionTransformationTraceRecallTests(TestCase):
    """The traceability workflows the API exposes: corrections, transformations, traces, recalls."""

    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def record(self, user=None, **extra):
        body = {"batch": self.w.batch.lot_code, "kind": "cooling", "occurred_at": "2026-06-12T08:00:00Z"} | extra
        response = api_client(user or self.w.alice).post(f"{V1}/events/", body, format="json")
        self.assertEqual(response.status_code, 201, response.content)
        return response.json()

    def test_a_correction_is_a_new_event_that_points_at_the_wrong_one(self):
        wrong = self.record(data={"temperature_c": 40})
        body = {
            "kind": "correction",
            "corrects": wrong["client_id"],
            "correction_reason": "incorrect_data",
            "corrected_data": {"temperature_c": 4},
            "note": "typo",
        }
        response = api_client(self.w.alice).post(f"{V1}/events/", body, format="json")
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual((response.json()["kind"], response.json()["corrects"]), ("correction", wrong["client_id"]))
        effective = TraceEvent.objects.effective()
        self.assertEqual([(e.kind, e.data) for e in effective], [("cooling", {"temperature_c": 4})])
        self.assertEqual(TraceEvent.objects.count(), 3)
        again = api_client(self.w.alice).post(f"{V1}/events/", body, format="json")
        self.assertEqual(again.status_code, 409)
        self.assertEqual(TraceEvent.objects.count(), 3)

    def test_another_tenants_event_cannot_be_corrected(self):
        theirs = self.record(user=self.w.bob, batch=self.w.other_batch.lot_code)
        body = {"kind": "correction", "corrects": theirs["client_id"], "correction_reason": "did_not_occur"}
        self.assertEqual(api_client(self.w.alice).post(f"{V1}/events/", body, format="json").status_code, 404)
        self.assertEqual(TraceEvent.objects.count(), 1)

    def test_a_transformation_makes_a_packed_lot_from_inputs_and_allocates_them(self):
        second = make_batch(self.w.farm, self.w.crop, "XJ-WAX-20260612-002", quantity="50")
        body = {
            "kind": "mixing",
            "inputs": [
                {"batch": self.w.batch.lot_code, "quantity": "30"},
                {"batch": second.lot_code, "quantity": "20"},
            ],
            "farm": self.w.farm.pk,
            "crop": self.w.crop.pk,
            "quantity": "48",
        }
        response = api_client(self.w.alice).post(f"{V1}/transformations/", body, format="json")
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["status"], "packed")
        self.assertEqual(sorted(response.json()["inputs"]), ["XJ-WAX-20260612-001", "XJ-WAX-20260612-002"])
        self.assertEqual(Batch.objects.get(pk=second.pk).allocated_quantity, Decimal("20"))
        body["inputs"] = [{"batch": self.w.other_batch.lot_code, "quantity": "1"}]
        self.assertEqual(api_client(self.w.alice).post(f"{V1}/transformations/", body, format="json").status_code, 404)
        body["inputs"] = [{"batch": second.lot_code, "quantity": "31"}]
        self.assertEqual(api_client(self.w.alice).post(f"{V1}/transformations/", body, format="json").status_code, 409)
        self.assertEqual(Batch.objects.count(), 4)

    def test_an_auditor_traces_a_lot_forward_and_backward_and_a_retailer_whose_shipments_never_carried_it_may_not(self):
        self.record(kind="harvest")
        client = api_client(self.w.auditor)
        body = client.get(f"{V1}/batches/{self.w.batch.lot_code}/trace/").json()
        self.assertEqual((body["lot"]["lot_code"], body["direction"]), ("XJ-WAX-20260612-001", "both"))
        self.assertEqual((body["ancestors"], body["descendants"], body["shipments"]), ([], [], []))
        url = f"{V1}/batches/{self.w.batch.lot_code}/trace/?direction=sideways"
        self.assertEqual(client.get(url).status_code, 400)
        # As on the trace page (traceability.permissions.may_trace): not carried by rita's shipments.
        self.assertEqual(api_client(self.w.rita).get(f"{V1}/batches/{self.w.batch.lot_code}/trace/").status_code, 404)
        self.assertEqual(api_client(self.w.rex).get(f"{V1}/batches/{self.w.batch.lot_code}/trace/").status_code, 404)

    def test_a_retailer_opens_and_closes_a_recall_and_the_lot_is_held_meanwhile(self):
        client = api_client(self.w.rita)
        response = client.post(f"{V1}/recalls/", {"batch": self.w.batch.lot_code, "reason": "农残超标"}, format="json")
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(Batch.objects.get(pk=self.w.batch.pk).status, "recalled")
        recall = response.json()["id"]
        again = client.post(f"{V1}/recalls/", {"batch": self.w.batch.lot_code, "reason": "x"}, format="json")
        self.assertEqual(again.status_code, 409)
        self.assertEqual(api_client(self.w.auditor).post(f"{V1}/recalls/{recall}/close/").status_code, 403)
        self.assertEqual(api_client(self.w.rex).post(f"{V1}/recalls/{recall}/close/").status_code, 404)
        response = client.post(f"{V1}/recalls/{recall}/close/", {"note": "复检合格"}, format="json")
        self.assertEqual((response.status_code, response.json()["is_open"]), (200, False))
        self.assertEqual(Batch.objects.get(pk=self.w.batch.pk).status, "harvested")
        body = {"batch": self.w.other_batch.lot_code, "reason": "x"}
        self.assertEqual(client.post(f"{V1}/recalls/", body, format="json").status_code, 404)
        self.assertEqual(Recall.objects.count(), 1)
