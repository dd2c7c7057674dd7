from decimal import Decimal
from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone

from farms.models import Crop, Farm, Field, Membership, Recipe, Village
from shipments.models import Retailer, RetailerStaff, Scan, Shipment, ShipmentItem, Store
from tests.support import anchor_key
from traceability.models import Batch, EventBatch, TraceEvent

MODELS = [Village, Farm, Field, Crop, Recipe, Membership, Retailer, Store, RetailerStaff, Shipment, ShipmentItem]
MODELS += [Scan, Batch, TraceEvent, EventBatch, get_user_model()]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


class SeedDemoTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.output = StringIO()
        call_command("seed_demo", stdout=cls.output)

    def test_villages_farms_and_crops_have_generated_photos_with_their_renditions(self):
        from django.core.files.storage import default_storage

        from farms.images import Photo

        for obj in [*Village.objects.all(), *Farm.objects.all(), *Crop.objects.all()]:
            photo = Photo.of(obj.photo.name)
            self.assertIsNotNone(photo, obj)
            for rendition in photo.all_renditions():
                self.assertTrue(default_storage.exists(rendition.name), rendition.name)
        self.assertRegex(Crop.objects.get(code="WAX").photo.name, r"^crops/wax(_\w+)?\.640x480\.jpg$")

    def test_it_builds_the_documented_world(self):
        self.assertEqual(Village.objects.count(), 4)
        self.assertEqual(Village.objects.get(code="XJ").county_en, "Xianju County, Taizhou")
        self.assertEqual(
            list(Village.objects.get(code="XJ").specialties.values_list("code", flat=True)), ["BAM", "WAX"]
        )
        self.assertEqual(Crop.objects.exclude(name_en="").count(), 6)
        self.assertEqual(Recipe.objects.count(), 12)
        self.assertEqual(Retailer.objects.count(), 2)
        self.assertEqual(
            sorted(Shipment.objects.values_list("status", flat=True)),
            ["cancelled", "delivered", "delivered", "dispatched", "dispatched", "draft", "packed"],
        )
        self.assertEqual(Field.objects.filter(latitude__isnull=True).count(), 0)

    def test_every_harvested_batch_has_harvest_quality_and_packing_events(self):
        for batch in Batch.objects.filter(inputs__isnull=True):
            kinds = set(TraceEvent.objects.filter(lines__batch=batch).values_list("kind", flat=True))
            self.assertTrue({"harvest", "quality_test", "packing"} <= kinds, batch.lot_code)
        gift = Batch.objects.filter(input_links__isnull=False).distinct().get()
        self.assertEqual(
            sorted(gift.input_links.values_list("quantity", flat=True)), [Decimal("40.000"), Decimal("60.000")]
        )
        kinds = set(TraceEvent.objects.filter(lines__batch=gift).values_list("kind", flat=True))
        self.assertEqual(kinds, {"registration", "shipping", "temperature", "transformation"})

    def test_demo_users_have_their_roles(self):
        roles = set(Membership.objects.values_list("user__username", "role", "village__code"))
        self.assertEqual(
            roles,
            {
                ("farmer", "farmer", "XJ"),
                ("coordinator", "coordinator", "XJ"),
                ("farmer2", "farmer", "XW"),
                ("auditor", "auditor", None),
            },
        )
        staff = set(RetailerStaff.objects.values_list("user__username", "retailer__name_en"))
        self.assertEqual(staff, {("retailer", "FreshHome Market"), ("retailer2", "GreenSource Fresh")})
        self.assertTrue(get_user_model().objects.get(username="farmer").check_password("demo-password"))

    def test_it_prints_the_logins_and_a_consumer_page_url(self):
        printed = self.output.getvalue()
        delivered = Shipment.objects.filter(status="delivered").order_by("created_at").first()
        self.assertIn(delivered.public_url, printed)
        self.assertIn("retailer2", printed)
        self.assertIn("/admin/", printed)

    def test_running_it_twice_changes_nothing(self):
        before = counts()
        codes = set(Shipment.objects.values_list("public_code", flat=True))
        call_command("seed_demo", stdout=StringIO())
        self.assertEqual(counts(), before)
        self.assertEqual(set(Shipment.objects.values_list("public_code", flat=True)), codes)

    def test_every_shipment_is_created_before_it_moves_and_nothing_happens_in_the_future(self):
        now = timezone.now()
        for shipment in Shipment.objects.all():
            movements = [shipment.dispatched_at, shipment.delivered_at]
            self.assertEqual(
                [moment for moment in movements if moment is not None and moment <= shipment.created_at],
                [],
                shipment.reference,
            )
            self.assertLess(shipment.created_at, now, shipment.reference)
            if shipment.delivered_at:
                self.assertLess(shipment.delivered_at, now, shipment.reference)
        self.assertEqual(Scan.objects.filter(scanned_at__gt=now).count(), 0)
        self.assertEqual(TraceEvent.objects.filter(occurred_at__gt=now).count(), 0)

    def test_harvest_and_packing_carry_the_batch_quantity_and_quality_tests_a_result_the_pages_know(self):
        for batch in Batch.objects.filter(inputs__isnull=True):
            lines = EventBatch.objects.filter(batch=batch, event__kind__in=["harvest", "packing"])
            self.assertEqual([line.quantity for line in lines], [batch.quantity, batch.quantity], batch.lot_code)
            self.assertEqual({line.unit for line in lines}, {batch.unit})
        results = set(TraceEvent.objects.filter(kind="quality_test").values_list("data__result", flat=True))
        self.assertEqual(results, {"pass"})

    def test_the_demo_record_verifies_and_anchors(self):
        out = StringIO()
        with self.settings(ANCHOR_SIGNING_KEY=anchor_key(), ANCHOR_SIGNING_KEY_FILE="", ANCHOR_PUBLIC_KEYS=[]):
            call_command("verify_events", stdout=out, stderr=StringIO())
            call_command("anchor_chains", stdout=StringIO())
            call_command("verify_events", stdout=out)
        registered = EventBatch.objects.filter(event__kind="registration")
        self.assertEqual(registered.count(), Batch.objects.count())
        self.assertEqual(out.getvalue().count("OK: 4 village chain(s)"), 2)
