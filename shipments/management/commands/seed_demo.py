"""Build the demo world: villages, farms, crops, recipes, batches with events, retailers, stores,
shipments in every state, scans, and demo users. Running it again changes nothing."""

import io
import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from farms import gs1
from farms.models import Crop, Farm, Field, Membership, Recipe, Village
from shipments import demo_data as demo
from shipments import services as shipping
from shipments.models import Retailer, RetailerStaff, Scan, Shipment, Store
from traceability.models import Batch, TraceEvent
from traceability.services import record_batch_event, record_event, register_batch, transform_batches

# Fixed namespace so the demo's events keep the same client ids on every run.
DEMO_NAMESPACE = uuid.UUID("6f1c1f43-6d0e-4b1a-9f43-2d5e4c1b7a10")
DEMO_MARK = "demo:"


def with_check_digit(body: str) -> str:
    return body + str(gs1.check_digit(body))


def landscape_photo(seed: int) -> bytes:
    """A small generated picture of hills and sky, so the demo's pages have a photo without shipping one."""
    from PIL import Image, ImageDraw

    width, height = 640, 320
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = int(200 - y * 0.25)
        draw.line([(0, y), (width, y)], fill=(shade - 40, shade, 235))
    greens = [(96, 148, 72), (70, 124, 58), (48, 98, 44)]
    for layer, colour in enumerate(greens):
        base = 170 + layer * 45
        offset = (seed * 97 + layer * 53) % 200
        points = [(0, height)]
        for x in range(0, width + 40, 40):
            bump = ((x + offset) % 160) - 80
            points.append((x, base - abs(bump) * (0.6 - layer * 0.12)))
        points.append((width, height))
        draw.polygon(points, fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=70)
    return buffer.getvalue()


class Command(BaseCommand):
    help = "Load realistic demo data (idempotent) and print the demo logins and a consumer-page URL."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the database already has villages of its own"
        )

    def handle(self, *args, if_empty: bool = False, **options):
        has_demo = Village.objects.filter(code="XJ").exists()
        if if_empty and Village.objects.exists() and not has_demo:
            self.stdout.write("The database already has data; demo data not loaded.")
            return
        with transaction.atomic():
            crops = self.crops()
            villages = self.villages(crops)
            self.recipes(crops)
            retailers = self.retailers(villages)
            self.users(villages, retailers)
            if not Batch.objects.filter(notes__startswith=DEMO_MARK).exists():
                batches = self.batches(villages, crops)
                self.shipments(villages, batches)
        self.report()

    # Reference data: upserted by natural key, so a second run finds everything in place.

    def crops(self) -> dict[str, Crop]:
        crops = {}
        for code, zh, en, var_zh, var_en, category, store_zh, store_en, gtin_body in demo.CROPS:
            crops[code], _ = Crop.objects.get_or_create(
                code=code,
                defaults={
                    "name_zh": zh,
                    "name_en": en,
                    "variety_zh": var_zh,
                    "variety_en": var_en,
                    "category": category,
                    "storage_advice_zh": store_zh,
                    "storage_advice_en": store_en,
                    "gtin": with_check_digit(gtin_body),
                    "storage_min_c": Decimal(demo.STORAGE_C[code][0]),
                    "storage_max_c": Decimal(demo.STORAGE_C[code][1]),
                },
            )
        return crops

    def villages(self, crops) -> dict[str, Village]:
        villages = {}
        for index, spec in enumerate(demo.VILLAGES):
            fields = {k: v for k, v in spec.items() if k not in ("code", "specialties", "gln_body", "farms")}
            village, created = Village.objects.get_or_create(
                code=spec["code"], defaults={**fields, "gln": with_check_digit(spec["gln_body"])}
            )
            if created:
                village.specialties.set([crops[c] for c in spec["specialties"]])
                village.photo.save(f"{spec['code'].lower()}.jpg", ContentFile(landscape_photo(index)), save=True)
            for name_zh, name_en, grower, phone, certs, address_zh, address_en, field_specs in spec["farms"]:
                farm, _ = Farm.objects.get_or_create(
                    village=village,
                    name_zh=name_zh,
                    defaults={
                        "name_en": name_en,
                        "grower_name": grower,
                        "contact_phone": phone,
                        "certifications": certs,
                        "notes": "内部备注：示范户",
                        "address_zh": address_zh,
                        "address_en": address_en,
                    },
                )
                for f_zh, f_en, lat, lon, area in field_specs:
                    Field.objects.get_or_create(
                        farm=farm,
                        name_zh=f_zh,
                        defaults={
                            "name_en": f_en,
                            "latitude": Decimal(lat),
                            "longitude": Decimal(lon),
                            "area_mu": Decimal(area),
                        },
                    )
            villages[spec["code"]] = village
        return villages

    def recipes(self, crops) -> None:
        for title, language, crop_codes, ingredients, steps in demo.RECIPES:
            recipe, created = Recipe.objects.get_or_create(
                title=title, language=language, defaults={"ingredients": ingredients, "steps": steps}
            )
            if created:
                recipe.crops.set([crops[c] for c in crop_codes])

    def retailers(self, villages) -> dict[str, Retailer]:
        retailers = {}
        for spec in demo.RETAILERS:
            retailer, created = Retailer.objects.get_or_create(
                name_zh=spec["name_zh"],
                defaults={
                    "name_en": spec["name_en"],
                    "address_zh": spec["address_zh"],
                    "address_en": spec["address_en"],
                    "phone": spec["phone"],
                    "gln": with_check_digit(spec["gln_body"]),
                    "label_qr": spec.get("label_qr", Retailer.LabelQr.SHORT_URL),
                    "label_date": spec.get("label_date", Retailer.LabelDate.NONE),
                },
            )
            if created:
                retailer.supplier_villages.set([villages[c] for c in spec["suppliers"]])
                shipping.set_company_prefix(retailer=retailer, prefix=spec["gs1_company_prefix"])
            for name_zh, name_en, city_zh, city_en, address, address_en, gln_body, phone, latitude, longitude in spec[
                "stores"
            ]:
                Store.objects.get_or_create(
                    retailer=retailer,
                    name_zh=name_zh,
                    defaults={
                        "name_en": name_en,
                        "city_zh": city_zh,
                        "city_en": city_en,
                        "address": address,
                        "address_en": address_en,
                        "time_zone": "Asia/Shanghai",
                        "gln": with_check_digit(gln_body),
                        "phone": phone,
                        "latitude": Decimal(latitude),
                        "longitude": Decimal(longitude),
                    },
                )
            retailers[spec["name_zh"]] = retailer
        return retailers

    def users(self, villages, retailers) -> None:
        User = get_user_model()
        for username, role, where, _description in demo.USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"is_staff": role == "superuser", "is_superuser": role == "superuser"}
            )
            if created:
                user.set_password(demo.PASSWORD)
                user.save(update_fields=["password"])
            if role in ("farmer", "coordinator"):
                Membership.objects.get_or_create(user=user, role=role, village=villages[where])
            elif role == "auditor":
                Membership.objects.get_or_create(user=user, role=role, village=None)
            elif role == "retailer":
                RetailerStaff.objects.get_or_create(user=user, retailer=retailers[where])

    # The operational story: made once, with dates relative to the day it is seeded.

    def batches(self, villages, crops) -> dict[str, Batch]:
        User = get_user_model()
        farmers = {"XJ": User.objects.get(username="farmer"), "XW": User.objects.get(username="farmer2")}
        today = timezone.localdate()
        batches = {}
        for key, village_code, farm_i, field_i, crop_code, days_ago, qty, unit, cool_c, _transit in demo.BATCHES:
            village = villages[village_code]
            farm = list(village.farms.order_by("id"))[farm_i]
            field = list(farm.fields.order_by("id"))[field_i]
            harvested = today - timedelta(days=days_ago)
            actor = farmers.get(village_code)
            batch = register_batch(
                farm=farm,
                crop=crops[crop_code],
                field=field,
                quantity=Decimal(qty),
                unit=unit,
                planted_on=harvested - timedelta(days=120),
                harvested_on=harvested,
                created_by=actor,
                notes=f"{DEMO_MARK}{key}",
            )
            morning = timezone.make_aware(datetime.combine(harvested, time(5, 30)))

            def event(kind, hours, data, quantity=None, _batch=batch, _key=key, _actor=actor, _morning=morning):
                record_batch_event(
                    batch=_batch,
                    kind=kind,
                    occurred_at=_morning + timedelta(hours=hours),
                    actor=_actor,
                    data=data,
                    client_id=uuid.uuid5(DEMO_NAMESPACE, f"{_key}:{kind}:{hours}"),
                    quantity=quantity,
                )

            # Harvest and packing carry their quantity on the event line, as the web form records
            # them: FSMA 204 exports and the batch history read it there.
            # FSMA 204's harvest KDEs: the harvester (the cooperative's picking team, for regulators
            # only) and the field tag; cooling's quantity and log.
            event(
                "harvest",
                0,
                {
                    "harvester_name": f"{village.name_zh}合作社采摘队",
                    "harvester_phone": village.phone,
                    "reference_document_type": "Field tag",
                    "reference_document": f"FT-{key.upper()}",
                },
                Decimal(qty),
            )
            if cool_c is not None:
                event(
                    "cooling",
                    2,
                    {
                        "temperature_c": cool_c,
                        "method": "预冷库强制通风预冷",
                        "reference_document_type": "Cooling log",
                        "reference_document": f"CL-{key.upper()}",
                    },
                    Decimal(qty),
                )
            event(
                "quality_test",
                3,
                {
                    "test": "农药残留快速检测",
                    "result": "pass",
                    "lab": f"{village.county_zh.split('市')[-1]}农产品质量安全检测站",
                },
            )
            event(
                "packing", 4, {"packaging": "5 千克泡沫保鲜箱", "reference_document": f"PK-{key.upper()}"}, Decimal(qty)
            )
            batches[key] = batch
        # Sorting: the best of two waxberry lots become a gift-box lot, so traces show a genealogy.
        wax1, wax2 = batches["xj-wax-1"], batches["xj-wax-2"]
        gift, _event, _created = transform_batches(
            inputs=[(wax1, Decimal("60")), (wax2, Decimal("40"))],
            crop=wax1.crop,
            farm=wax1.farm,
            quantity=Decimal("95"),
            unit="kg",
            kind="sorting",
            actor=farmers["XJ"],
            occurred_at=timezone.make_aware(datetime.combine(wax2.harvested_on, time(10, 0))),
            client_id=uuid.uuid5(DEMO_NAMESPACE, "xj-wax-gift:sorting"),
            reference_document="SORT-XJ-001",
        )
        batches["xj-wax-gift"] = gift
        return batches

    def shipments(self, villages, batches) -> None:
        User = get_user_model()
        staff = {
            "鲜到家超市": User.objects.get(username="retailer"),
            "绿源生鲜": User.objects.get(username="retailer2"),
        }
        for village_code, store_name, carrier, reference, items, state in demo.SHIPMENTS:
            store = Store.objects.get(name_zh=store_name)
            actor = staff[store.retailer.name_zh]
            first_batch = batches[items[0][0]]
            shipment = shipping.create_shipment(
                origin_village=villages[village_code],
                origin_farm=first_batch.farm,
                store=store,
                carrier=carrier,
                reference=reference,
                notes="内部备注：演示发货单",
                created_by=actor,
            )
            for key, quantity in items:
                shipping.add_item(shipment=shipment, batch=batches[key], quantity=Decimal(quantity))
            # Ready to leave an hour after the last thing that happened to its lots.
            # (Registrations happened at seed time: the story's dates are the events'.)
            packed_at = (
                TraceEvent.objects.filter(lines__batch__in=[batches[k] for k, _q in items])
                .exclude(kind=TraceEvent.Kind.REGISTRATION)
                .aggregate(last=Max("occurred_at"))["last"]
            )
            # Made half an hour before it leaves, not at seed time (created_at is not editable, and
            # a shipment "created" after it was dispatched reads as a defect).
            Shipment.objects.filter(pk=shipment.pk).update(created_at=packed_at + timedelta(minutes=30))
            # Seeded shortly after midnight, the newest lots were packed only ~14 hours ago: the
            # delivery never lies in the future, so neither do the scans that follow it.
            delivered_at = min(packed_at + timedelta(hours=20), timezone.now() - timedelta(hours=3))
            if state == "packed":
                shipping.pack_shipment(shipment=shipment)
            elif state == "cancelled":
                shipping.cancel_shipment(shipment=shipment, actor=actor)
            elif state in ("dispatched", "delivered"):
                shipping.dispatch_shipment(shipment=shipment, actor=actor, when=packed_at + timedelta(hours=1))
                self.transit_reading(shipment, {k: batches[k] for k, _q in items}, packed_at + timedelta(hours=7))
                if state == "delivered":
                    shipping.receive_shipment(shipment=shipment, actor=actor, when=delivered_at)
                    self.scans(shipment, delivered_at + timedelta(hours=2))

    def transit_reading(self, shipment: Shipment, batches: dict[str, Batch], when) -> None:
        """A reefer logger's reading on the road, for each batch of the shipment."""
        readings = {spec[0]: spec[9] for spec in demo.BATCHES} | {"xj-wax-gift": "3.0"}
        for key, batch in batches.items():
            if readings[key] is None or when > timezone.now():
                continue
            record_event(
                kind="temperature",
                village=shipment.origin_village,
                occurred_at=when,
                lines=[(batch, "subject", None, "")],
                data={"temperature_c": readings[key], "shipment": shipment.public_code, "sensor": "车载温度记录仪"},
                client_id=uuid.uuid5(DEMO_NAMESPACE, f"{key}:transit:{shipment.reference}"),
                location_name=shipment.carrier,
            )

    def scans(self, shipment: Shipment, start) -> None:
        """17 scans spread between the delivery and now, mostly from WeChat, a quarter in English."""
        clients = ["wechat", "wechat", "wechat", "ios", "android", "alipay"]
        span = max(timezone.now() - start, timedelta(minutes=17))
        Scan.objects.bulk_create(
            Scan(
                shipment=shipment,
                scanned_at=start + span * i / 17,
                language="zh-hans" if i % 4 else "en",
                client=clients[i % len(clients)],
            )
            for i in range(17)
        )

    def report(self) -> None:
        base = settings.PUBLIC_BASE_URL
        delivered = Shipment.objects.filter(status="delivered", notes__startswith="内部备注").order_by("created_at")
        self.stdout.write(self.style.SUCCESS("Demo data is in place."))
        self.stdout.write(f"  Admin:          {base}/admin/   (admin / {demo.PASSWORD})")
        self.stdout.write(f"  Web app:        {base}/")
        self.stdout.write(f"  API docs:       {base}/api/docs/")
        for shipment in delivered[:2]:
            self.stdout.write(f"  Consumer page:  {shipment.public_url}")
        self.stdout.write(f"  Demo logins (password {demo.PASSWORD}):")
        for username, _role, _where, description in demo.USERS:
            self.stdout.write(f"    {username:<12} {description}")
