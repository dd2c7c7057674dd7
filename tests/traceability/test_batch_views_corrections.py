"""Corrections in the web app: from a lot's history, a farmer or coordinator corrects or voids a
record with the reason (traceability.services.record_correction); shoppers and traces then see
the corrected facts."""

import csv
import io
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.test import TestCase
from django.utils import translation

from shipments.models import RetailerStaff
from tests.support import (
    in_english,
    make_batch,
    make_crop,
    make_delivered_shipment,
    make_farm,
    make_store,
    make_user,
    make_village,
)
from traceability.models import TraceEvent
from traceability.services import record_batch_event

SHANGHAI = ZoneInfo("Asia/Shanghai")


class CorrectionPageTests(TestCase):
    def setUp(self):
        in_english(self)
        self.village = make_village("XJ")
        self.farm = make_farm(self.village)
        self.crop = make_crop("WAX")
        self.alice = make_user("alice", role="farmer", village=self.village)
        self.carol = make_user("carol", role="coordinator", village=self.village)
        self.lot = make_batch(self.farm, self.crop, "XJ-WAX-20260612-001")
        self.at = datetime(2026, 6, 12, 8, 30, tzinfo=SHANGHAI)
        self.cooling, _ = record_batch_event(
            batch=self.lot, kind="cooling", occurred_at=self.at, data={"temperature_c": 19.0}, actor=self.alice
        )
        self.shipment = make_delivered_shipment(batches=[self.lot], store=make_store())
        self.rita = make_user("rita")
        RetailerStaff.objects.create(user=self.rita, retailer=self.shipment.store.retailer)
        self.shipment.store.retailer.supplier_villages.add(self.village)
        self.url = f"/batches/{self.lot.lot_code}/events/{self.cooling.client_id}/correct/"

    def post(self, user, data, url=None):
        self.client.force_login(user)
        return self.client.post(url or self.url, {"client_id": str(uuid.uuid4())} | data)

    def shipping(self) -> TraceEvent:
        return TraceEvent.objects.get(kind="shipping")

    def test_the_lots_history_links_each_record_to_its_correction_page_for_the_village_only(self):
        self.client.force_login(self.alice)
        page = self.client.get(f"/batches/{self.lot.lot_code}/")
        self.assertContains(page, f'<a href="{self.url}">Correct or void</a>', html=True)
        shipping_url = f"/batches/{self.lot.lot_code}/events/{self.shipping().client_id}/correct/"
        self.assertContains(page, f'<a href="{shipping_url}">Correct or void</a>', html=True)
        form = self.client.get(self.url)
        self.assertContains(form, "19.0 °C")
        self.assertEqual(form.context["form"].initial["temperature_c"], 19.0)
        self.client.force_login(self.rita)
        self.assertNotContains(self.client.get(f"/batches/{self.lot.lot_code}/"), "Correct or void")
        self.assertEqual(self.client.get(self.url).status_code, 404)

    def test_a_farmer_corrects_a_reading_and_the_consumer_page_and_history_show_the_corrected_one(self):
        public = self.client.get(self.shipment.public_path).content.decode()
        self.assertIn("19.0 °C", public)
        # The consumer page's cache is invalidated after commit, as in production.
        with self.captureOnCommitCallbacks(execute=True):
            response = self.post(
                self.alice, {"reason": "incorrect_data", "note": "misread the thermometer", "temperature_c": "4.5"}
            )
        self.assertRedirects(response, f"/batches/{self.lot.lot_code}/")
        correction = TraceEvent.objects.get(kind="correction")
        self.assertEqual(
            (correction.corrects, correction.correction_reason, correction.actor, correction.data["note"]),
            (self.cooling, "incorrect_data", self.alice, "misread the thermometer"),
        )
        replacement = TraceEvent.objects.get(client_id=correction.data["corrective_event"])
        self.assertEqual(
            (replacement.kind, replacement.data, replacement.occurred_at), ("cooling", {"temperature_c": 4.5}, self.at)
        )
        self.assertEqual(list(TraceEvent.objects.effective().filter(kind="cooling")), [replacement])
        public = self.client.get(self.shipment.public_path).content.decode()
        self.assertIn("4.5 °C", public)
        self.assertNotIn("19.0 °C", public)
        history = self.client.get(f"/batches/{self.lot.lot_code}/")
        self.assertContains(history, '<span class="badge on_hold">Corrected</span>', html=True)
        self.assertContains(history, "Recorded by a correction.")
        self.assertNotContains(history, f'href="{self.url}"')

    def test_voiding_a_shipping_record_takes_the_shipment_out_of_the_trace_and_the_export(self):
        self.client.force_login(self.carol)
        self.assertEqual(
            [s.shipment for s in self.client.get("/trace/", {"lot": self.lot.lot_code}).context["trace"].shipments],
            [self.shipment.public_code],
        )
        url = f"/batches/{self.lot.lot_code}/events/{self.shipping().client_id}/correct/"
        response = self.post(self.carol, {"reason": "did_not_occur", "note": "wrong lot on the truck"}, url=url)
        self.assertRedirects(response, f"/batches/{self.lot.lot_code}/")
        trace = self.client.get("/trace/", {"lot": self.lot.lot_code}).context["trace"]
        self.assertEqual([(s.shipment, s.shipped_at) for s in trace.shipments], [(self.shipment.public_code, None)])
        rows = list(
            csv.reader(
                io.StringIO(
                    self.client.get("/trace/export/fsma.csv", {"lot": self.lot.lot_code}).content.decode("utf-8-sig")
                )
            )
        )
        self.assertEqual([row[0] for row in rows[1:]], ["Cooling", "Receiving"])
        history = self.client.get(f"/batches/{self.lot.lot_code}/")
        self.assertContains(history, '<span class="badge on_hold">Voided</span>', html=True)
        self.assertContains(history, "Declared that it did not happen.")

    def test_a_form_with_errors_keeps_what_was_typed_and_its_one_time_id_and_writes_nothing(self):
        client_id = str(uuid.uuid4())
        self.client.force_login(self.alice)
        response = self.client.post(
            self.url, {"client_id": client_id, "reason": "incorrect_data", "temperature_c": "5"}
        )
        self.assertContains(response, "This field is required.", status_code=400)
        self.assertContains(response, f'name="client_id" value="{client_id}"', status_code=400)
        self.assertContains(response, 'name="temperature_c" value="5"', status_code=400)
        # Nothing changed: the service says what a correction of wrong details needs.
        response = self.client.post(
            self.url, {"client_id": client_id, "reason": "incorrect_data", "note": "typo", "temperature_c": "19.0"}
        )
        self.assertContains(response, "An incorrect-data correction needs the corrected data or time.", status_code=409)
        self.assertContains(response, f'name="client_id" value="{client_id}"', status_code=409)
        self.assertContains(response, "typo</textarea>", status_code=409)
        response = self.client.post(self.url, {"client_id": client_id, "reason": "nonsense", "note": "typo"})
        self.assertContains(response, "Select a valid choice.", status_code=400)
        self.assertEqual(TraceEvent.objects.filter(kind="correction").count(), 0)

    def test_the_same_correction_sent_twice_records_once_and_both_answers_lead_to_the_lot(self):
        body = {"client_id": str(uuid.uuid4()), "reason": "did_not_occur", "note": "recorded on the wrong lot"}
        self.client.force_login(self.alice)
        first, second = self.client.post(self.url, body), self.client.post(self.url, body)
        self.assertEqual((first.status_code, first["Location"]), (302, f"/batches/{self.lot.lot_code}/"))
        self.assertEqual((second.status_code, second["Location"]), (302, f"/batches/{self.lot.lot_code}/"))
        self.assertEqual(TraceEvent.objects.filter(kind="correction").count(), 1)
        self.assertEqual(TraceEvent.objects.effective().filter(kind="cooling").count(), 0)

    def test_a_corrected_record_cannot_be_corrected_again(self):
        self.post(self.alice, {"reason": "did_not_occur", "note": "recorded on the wrong lot"})
        page = self.client.get(self.url)
        self.assertContains(page, "This record has already been corrected.")
        response = self.post(self.carol, {"reason": "did_not_occur", "note": "again"})
        self.assertContains(response, "This record has already been corrected.", status_code=409)
        self.assertEqual(TraceEvent.objects.filter(kind="correction").count(), 1)

    def test_a_correction_itself_and_an_unknown_record_answer_404(self):
        self.post(self.alice, {"reason": "did_not_occur", "note": "recorded on the wrong lot"})
        correction = TraceEvent.objects.get(kind="correction")
        url = f"/batches/{self.lot.lot_code}/events/{correction.client_id}/correct/"
        self.assertEqual(self.client.get(url).status_code, 404)
        self.assertEqual(
            self.client.get(f"/batches/{self.lot.lot_code}/events/{uuid.uuid4()}/correct/").status_code, 404
        )

    def test_the_correction_page_speaks_chinese_by_default(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
        translation.activate("zh-hans")
        self.client.force_login(self.alice)
        page = self.client.get(self.url).content.decode()
        for text in (
            "更正记录",
            "哪里不对？",
            "部分信息有误：填写正确的信息",
            "没有发生：作废这条记录",
            "原因",
            "保存更正",
        ):
            self.assertIn(text, page)
        history = self.client.get(f"/batches/{self.lot.lot_code}/").content.decode()
        self.assertIn("更正或作废", history)

    def test_a_correction_keeps_the_record_when_the_lot_is_on_hold(self):
        from traceability.services import open_recall

        open_recall(batch=self.lot, reason="农残超标", actor=self.carol)
        response = self.post(self.alice, {"reason": "incorrect_data", "note": "typo", "temperature_c": "4"})
        self.assertRedirects(response, f"/batches/{self.lot.lot_code}/")
        self.assertEqual(TraceEvent.objects.effective().get(kind="cooling").data, {"temperature_c": 4.0})

    def test_a_new_time_alone_is_a_correction(self):
        response = self.post(
            self.alice, {"reason": "incorrect_data", "note": "clock was wrong", "occurred_at": "2026-06-12T07:30"}
        )
        self.assertRedirects(response, f"/batches/{self.lot.lot_code}/")
        replacement = TraceEvent.objects.effective().get(kind="cooling")
        self.assertEqual(
            (replacement.occurred_at, replacement.data), (self.at - timedelta(hours=1), {"temperature_c": 19.0})
        )
