"""A kept consumer page goes stale when what it shows changes (shipments/page_invalidation.py),
whichever door the change comes through: the services, the REST API, a model saved elsewhere
(the admin). With Redis, on every server at once."""

from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

from django.test import TestCase, override_settings
from django.utils import translation

from shipments import public_cache
from shipments import services as shipping
from tests.support import (
    api_client,
    make_api_world,
    make_batch,
    make_crop,
    make_delivered_shipment,
    make_farm,
    make_user,
    make_village,
    requires_redis,
)
from traceability import services as trace

SHANGHAI = ZoneInfo("Asia/Shanghai")
V1 = "/api/v1"
WECHAT_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 MicroMessenger/8.0.49"
RECALL = "Recall: do not eat"


@contextmanager
def server(memory: public_cache.PageMemory):
    """Serve the requests made meanwhile as another app server would: its own page memory."""
    with mock.patch.object(public_cache, "pages", memory):
        yield


class PageTestCase(TestCase):
    """English pages; `page()` is what a shopper sees now."""

    def setUp(self):
        translation.activate("en")
        self.addCleanup(translation.deactivate)

    def page(self, shipment) -> str:
        response = self.client.get(shipment.public_path, HTTP_USER_AGENT=WECHAT_UA, HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(response.status_code, 200)
        return response.content.decode()


class ThroughTheServicesTests(PageTestCase):
    """alice's orchard, one delivered shipment, carol coordinating the village."""

    def setUp(self):
        super().setUp()
        self.village = make_village(story_en="Waxberries for two thousand years.")
        self.carol = make_user("carol", role="coordinator", village=self.village)
        self.batch = make_batch(make_farm(self.village), make_crop(), "XJ-WAX-20260612-001", status="packed")
        self.shipment = make_delivered_shipment(batches=[self.batch])

    def test_a_new_event_replaces_the_kept_page(self):
        self.assertNotIn("3.5 °C", self.page(self.shipment))
        with self.captureOnCommitCallbacks(execute=True):
            trace.record_batch_event(
                batch=self.batch,
                kind="cooling",
                occurred_at=datetime(2026, 6, 12, 9, 0, tzinfo=SHANGHAI),
                data={"temperature_c": 3.5},
            )
        self.assertIn("3.5 °C", self.page(self.shipment))

    def test_a_recall_shows_at_once_and_goes_when_it_is_closed(self):
        self.assertNotIn(RECALL, self.page(self.shipment))
        with self.captureOnCommitCallbacks(execute=True):
            recall = trace.open_recall(batch=self.batch, reason="Pesticide above limit", actor=self.carol)
        self.assertIn(RECALL, self.page(self.shipment))
        with self.captureOnCommitCallbacks(execute=True):
            trace.close_recall(recall=recall, actor=self.carol)
        self.assertNotIn(RECALL, self.page(self.shipment))

    def test_editing_the_village_story_replaces_every_kept_page(self):
        self.assertIn("Waxberries for two thousand years.", self.page(self.shipment))
        with self.captureOnCommitCallbacks(execute=True):
            self.village.story_en = "A new story."
            self.village.save()
        self.assertIn("A new story.", self.page(self.shipment))


class ThroughEachDoorTests(PageTestCase):
    """A draft shipment of village XJ's lot for FreshHome (rita's retailer), edited through the
    services, the REST API and the models themselves (as the admin saves them)."""

    def setUp(self):
        super().setUp()
        self.w = make_api_world()
        with self.captureOnCommitCallbacks(execute=True):
            shipping.add_item(shipment=self.w.shipment, batch=self.w.batch, quantity=Decimal("10"))

    def test_lots_added_to_and_taken_out_of_a_shipment_show_at_once(self):
        second = make_batch(self.w.farm, self.w.crop, "XJ-WAX-20260613-001")
        self.assertNotIn("XJ-WAX-20260613-001", self.page(self.w.shipment))
        with self.captureOnCommitCallbacks(execute=True):
            item = shipping.add_item(shipment=self.w.shipment, batch=second, quantity=Decimal("5"))
        self.assertIn("XJ-WAX-20260613-001", self.page(self.w.shipment))
        with self.captureOnCommitCallbacks(execute=True):
            shipping.remove_item(item=item)
        self.assertNotIn("XJ-WAX-20260613-001", self.page(self.w.shipment))

    def test_a_lot_edited_through_the_api_shows_at_once(self):
        self.assertIn("June 12, 2026", self.page(self.w.shipment))
        with self.captureOnCommitCallbacks(execute=True):
            response = api_client(self.w.alice).patch(
                f"{V1}/batches/{self.w.batch.lot_code}/", {"harvested_on": "2026-06-14"}, format="json"
            )
        self.assertEqual(response.status_code, 200)
        self.assertIn("June 14, 2026", self.page(self.w.shipment))

    def test_a_lot_saved_through_its_model_as_the_admin_does_shows_at_once(self):
        self.assertIn("June 12, 2026", self.page(self.w.shipment))
        with self.captureOnCommitCallbacks(execute=True):
            self.w.batch.harvested_on = date(2026, 6, 15)
            self.w.batch.save()
        self.assertIn("June 15, 2026", self.page(self.w.shipment))

    def test_a_shipment_saved_with_another_store_as_the_admin_does_shows_at_once(self):
        # The API edits only what the page does not show (carrier, reference, notes).
        self.assertIn("上海静安店", self.page(self.w.shipment))
        with self.captureOnCommitCallbacks(execute=True):
            self.w.shipment.store = self.w.retailer.stores.create(name_zh="杭州西湖店", city_zh="杭州")
            self.w.shipment.save()
        self.assertIn("杭州西湖店", self.page(self.w.shipment))

    def test_a_store_renamed_through_the_api_shows_at_once(self):
        self.assertIn("上海静安店", self.page(self.w.shipment))
        with self.captureOnCommitCallbacks(execute=True):
            response = api_client(self.w.rita).patch(
                f"{V1}/stores/{self.w.store.pk}/", {"name_en": "Shanghai West Nanjing Road"}, format="json"
            )
        self.assertEqual(response.status_code, 200)
        self.assertIn("Shanghai West Nanjing Road", self.page(self.w.shipment))


@requires_redis
@override_settings(SCAN_FLUSH_SECONDS=3600)  # the query count below must not depend on the machine's speed
class OnEveryServerTests(PageTestCase):
    """Two app servers share Redis; each keeps its own rendered pages."""

    def setUp(self):
        super().setUp()
        village = make_village()
        self.carol = make_user("carol", role="coordinator", village=village)
        self.batch = make_batch(make_farm(village), make_crop(), "XJ-WAX-20260612-001", status="packed")
        self.shipment = make_delivered_shipment(batches=[self.batch])
        self.second = public_cache.PageMemory()

    def test_a_recall_shows_at_once_on_a_server_that_kept_the_page(self):
        self.assertNotIn(RECALL, self.page(self.shipment))
        with server(self.second):
            self.assertNotIn(RECALL, self.page(self.shipment))
            with self.assertNumQueries(0):  # kept by the second server
                self.assertNotIn(RECALL, self.page(self.shipment))
        with self.captureOnCommitCallbacks(execute=True):
            trace.open_recall(batch=self.batch, reason="Pesticide above limit", actor=self.carol)
        self.assertIn(RECALL, self.page(self.shipment))
        with server(self.second):
            self.assertIn(RECALL, self.page(self.shipment))

    def test_a_new_event_shows_on_both_servers(self):
        self.page(self.shipment)
        with server(self.second):
            self.page(self.shipment)
        with self.captureOnCommitCallbacks(execute=True):
            trace.record_batch_event(
                batch=self.batch,
                kind="cooling",
                occurred_at=datetime(2026, 6, 12, 9, 0, tzinfo=SHANGHAI),
                data={"temperature_c": 3.5},
            )
        self.assertIn("3.5 °C", self.page(self.shipment))
        with server(self.second):
            self.assertIn("3.5 °C", self.page(self.shipment))

    def test_an_edited_village_story_shows_on_both_servers(self):
        for memory in (public_cache.pages, self.second):
            with server(memory):
                self.assertNotIn("A new story.", self.page(self.shipment))
        with self.captureOnCommitCallbacks(execute=True):
            village = self.batch.farm.village
            village.story_en = "A new story."
            village.save()
        for memory in (public_cache.pages, self.second):
            with server(memory):
                self.assertIn("A new story.", self.page(self.shipment))
