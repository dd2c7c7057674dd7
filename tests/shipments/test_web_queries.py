"""List pages cost the same number of queries however many rows they show (no N+1)."""

from decimal import Decimal

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from shipments import services
from tests.support import in_english, make_batch, make_crop, make_farm, make_retailer, make_user, make_village


class QueryCountTests(TestCase):
    def setUp(self):
        in_english(self)
        self.village = make_village("XJ")
        self.farm = make_farm(self.village)
        self.crop = make_crop("WAX")
        self.farmer = make_user("alice", role="farmer", village=self.village)
        self.clerk = make_user("bob")
        _, self.store = make_retailer(villages=[self.village], staff=[self.clerk])
        self.count = 0

    def add_rows(self, n: int) -> None:
        for _ in range(n):
            self.count += 1
            batch = make_batch(self.farm, self.crop, f"XJ-WAX-20260612-{self.count:03d}")
            shipment = services.create_shipment(origin_village=self.village, store=self.store)
            services.add_item(shipment=shipment, batch=batch, quantity=Decimal("1"))
            self.shipment = shipment

    def queries(self, user, path: str) -> int:
        self.client.force_login(user)
        with CaptureQueriesContext(connection) as captured:
            response = self.client.get(path)
        self.assertEqual(response.status_code, 200)
        return len(captured)

    def test_batch_list_home_shipment_list_and_page_do_not_grow_with_rows(self):
        pages = [(self.farmer, "/batches/"), (self.farmer, "/"), (self.clerk, "/shipments/"), (self.clerk, "/")]
        self.add_rows(1)
        few = [self.queries(user, path) for user, path in pages]
        few.append(self.queries(self.clerk, f"/shipments/{self.shipment.public_code}/"))
        self.add_rows(8)
        many = [self.queries(user, path) for user, path in pages]
        many.append(self.queries(self.clerk, f"/shipments/{self.shipment.public_code}/"))
        self.assertEqual(many, few)
