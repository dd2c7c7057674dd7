"""An event's data may not use the keys the system writes (a shipment's movement, a
transformation's, a correction's links): `{"shipment": "a/b"}` on a farm event made the lot's
staff page answer 500 for good. The service refuses them; the page survives such data anyway."""

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.test import TestCase

from tests.support import api_client, make_api_world
from traceability import services
from traceability.models import EventBatch, TraceEvent

AT = "2026-06-12T08:00:00+08:00"


class ReservedKeyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def test_the_api_refuses_an_event_whose_data_uses_a_reserved_key(self):
        for key in ("shipment", "store", "retailer", "ship_from", "corrective_event", "transformation"):
            body = {"batch": self.w.batch.lot_code, "kind": "cooling", "occurred_at": AT, "data": {key: "a/b"}}
            response = api_client(self.w.alice, "en").post("/api/v1/events/", body, format="json")
            self.assertEqual(response.status_code, 400, key)
            self.assertEqual(list(response.json()["error"]["fields"]), ["data"], key)
        self.assertEqual(TraceEvent.objects.count(), 0)

    def test_a_correction_may_not_set_them_either(self):
        event, _ = services.record_batch_event(
            batch=self.w.batch, kind="cooling", occurred_at=datetime(2026, 6, 12, tzinfo=ZoneInfo("UTC"))
        )
        with self.assertRaises(ValidationError) as raised:
            services.record_correction(
                event=event, reason="incorrect_data", actor=self.w.alice, corrected_data={"shipment": "a/b"}
            )
        self.assertEqual(list(raised.exception.message_dict), ["corrected_data"])
        self.assertEqual(TraceEvent.objects.count(), 1)

    def test_the_lot_page_survives_such_data_written_before_the_rule(self):
        event = TraceEvent.objects.create(
            client_id=uuid.uuid4(),
            kind="shipping",
            occurred_at=datetime(2026, 6, 12, tzinfo=ZoneInfo("UTC")),
            village=self.w.xj,
            data={"shipment": "a/b", "store": "上海静安店"},
            seq=1,
            prev_hash="",
            hash="x" * 64,
        )
        EventBatch.objects.create(event=event, batch=self.w.batch, role="subject", unit="")
        self.client.force_login(self.w.alice)
        response = self.client.get(f"/batches/{self.w.batch.lot_code}/")
        self.assertContains(response, "a/b")
        self.assertNotContains(response, 'href="/shipments/a/b/"')
