"""Small explicit helpers the tests share: environment markers and data builders."""

import shutil
import tempfile
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings

from farms.models import Crop, Farm, Field, Membership, Village

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL: set DATABASE_URL=postgres://..."
)
requires_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian's chromium: apt-get install chromium"
)
requires_redis = pytest.mark.skipif(
    settings.CACHES["default"]["BACKEND"] != "django.core.cache.backends.redis.RedisCache",
    reason="needs Redis as the cache: set REDIS_URL=redis://127.0.0.1:6379/<db>",
)


def make_user(username: str, *, role: str | None = None, village: Village | None = None, **extra):
    user = get_user_model().objects.create_user(username=username, password="pw-" + username, **extra)
    if role:
        Membership.objects.create(user=user, role=role, village=None if role == "auditor" else village)
    return user


def make_village(code: str = "XJ", **extra) -> Village:
    defaults = {
        "name_zh": "仙居县杨梅村",
        "name_en": "Xianju Waxberry Village",
        "province_zh": "浙江省",
        "province_en": "Zhejiang",
        "county_zh": "仙居县",
        "county_en": "Xianju County",
    }
    defaults.update(extra)
    return Village.objects.create(code=code, **defaults)


def make_crop(code: str = "WAX", **extra) -> Crop:
    defaults = {"name_zh": "杨梅", "name_en": "Waxberry", "category": "fruit"}
    defaults.update(extra)
    return Crop.objects.create(code=code, **defaults)


def make_farm(village: Village, name_zh: str = "王家果园", **extra) -> Farm:
    defaults = {"name_en": "Wang Family Orchard", "grower_name": "王建国", "contact_phone": "13800000000"}
    defaults.update(extra)
    return Farm.objects.create(village=village, name_zh=name_zh, **defaults)


def make_field(farm: Farm, name_zh: str = "东坡地", **extra) -> Field:
    return Field.objects.create(farm=farm, name_zh=name_zh, **extra)


def make_batch(farm: Farm, crop: Crop, lot_code: str, quantity="100", **extra):
    from traceability.models import Batch

    defaults = {"harvested_on": date(2026, 6, 12), "status": "harvested"}
    defaults.update(extra)
    return Batch.objects.create(farm=farm, crop=crop, lot_code=lot_code, quantity=Decimal(quantity), **defaults)


requires_gettext = pytest.mark.skipif(
    shutil.which("xgettext") is None, reason="needs GNU gettext: apt-get install gettext"
)


def make_store(name_zh: str = "上海静安店", **extra):
    from shipments.models import Retailer, Store

    retailer, _ = Retailer.objects.get_or_create(name_zh="盒马鲜生", defaults={"name_en": "Hema"})
    defaults = {"name_en": "Shanghai Jing'an", "city_zh": "上海", "city_en": "Shanghai"}
    defaults.update(extra)
    return Store.objects.create(retailer=retailer, name_zh=name_zh, **defaults)


def make_delivered_shipment(*, village: Village | None = None, batches=(), store=None):
    """A shipment of `batches` (10 units each), created, filled, dispatched and received through
    shipments.services, so it carries real shipping and receiving events."""
    from shipments import services

    village = village or batches[0].farm.village
    shipment = services.create_shipment(origin_village=village, store=store or make_store())
    for batch in batches:
        services.add_item(shipment=shipment, batch=batch, quantity=Decimal("10"))
    services.dispatch_shipment(shipment=shipment)
    services.receive_shipment(shipment=shipment)
    shipment.refresh_from_db()
    return shipment


def make_api_world():
    """Two tenants for API tests: village XJ (farmer alice, coordinator carol) supplying retailer
    FreshHome (staff rita), village GN (farmer bob) supplying retailer Green (staff rex), and an
    auditor, each with a batch, a field, a store and a draft shipment.
    Returns a SimpleNamespace; users' passwords are "pw-<username>"."""
    from types import SimpleNamespace

    from shipments.models import Retailer, RetailerStaff, Shipment, Store

    w = SimpleNamespace()
    w.crop = make_crop("WAX")
    w.xj = make_village("XJ")
    w.gn = make_village("GN", name_zh="赣南脐橙村", name_en="Gannan Orange Village")
    w.farm = make_farm(w.xj)
    w.other_farm = make_farm(w.gn, name_zh="赖家果园")
    w.field = make_field(w.farm)
    w.other_field = make_field(w.other_farm)
    w.batch = make_batch(w.farm, w.crop, "XJ-WAX-20260612-001")
    w.other_batch = make_batch(w.other_farm, w.crop, "GN-WAX-20260612-001")
    w.alice = make_user("alice", role="farmer", village=w.xj)
    w.carol = make_user("carol", role="coordinator", village=w.xj)
    w.bob = make_user("bob", role="coordinator", village=w.gn)
    w.auditor = make_user("audrey", role="auditor")
    w.retailer = Retailer.objects.create(name_zh="鲜到家", name_en="FreshHome")
    w.retailer.supplier_villages.add(w.xj)
    w.other_retailer = Retailer.objects.create(name_zh="绿源", name_en="Green")
    w.other_retailer.supplier_villages.add(w.gn)
    w.rita = make_user("rita")
    RetailerStaff.objects.create(user=w.rita, retailer=w.retailer)
    w.rex = make_user("rex")
    RetailerStaff.objects.create(user=w.rex, retailer=w.other_retailer)
    w.store = Store.objects.create(retailer=w.retailer, name_zh="上海静安店", city_zh="上海")
    w.other_store = Store.objects.create(retailer=w.other_retailer, name_zh="南昌店", city_zh="南昌")
    w.shipment = Shipment.objects.create(origin_village=w.xj, store=w.store)
    w.other_shipment = Shipment.objects.create(origin_village=w.gn, store=w.other_store)
    return w


def api_client(user=None, language: str = "en"):
    """A DRF test client speaking `language` (messages are compared in English), authenticated
    as `user` when given."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_authenticate(user)
    return client


def make_retailer(name_zh: str = "鲜家超市", *, villages=(), staff=(), store_name: str = "上海静安店"):
    """A retailer supplied by `villages`, employing the `staff` users, with one store. Returns (retailer, store)."""
    from shipments.models import Retailer, RetailerStaff, Store

    retailer = Retailer.objects.create(name_zh=name_zh, name_en="")
    retailer.supplier_villages.set(villages)
    for user in staff:
        RetailerStaff.objects.create(user=user, retailer=retailer)
    store = Store.objects.create(retailer=retailer, name_zh=store_name, city_zh="上海", city_en="Shanghai")
    return retailer, store


def temporary_media(test) -> str:
    """Uploads of this test go to a MEDIA_ROOT of its own, removed after it (photos and their
    renditions: a test reads exactly the files it made). Returns the directory."""
    media = tempfile.mkdtemp()
    test.addCleanup(shutil.rmtree, media, True)
    override = override_settings(MEDIA_ROOT=media)
    override.enable()
    test.addCleanup(override.disable)
    return media


def in_english(test) -> None:
    """Run a test's requests and messages in English, so its assertions read the same whatever
    the Chinese catalogue holds. Call from setUp."""
    from django.utils import translation

    test.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    translation.activate("en")
    test.addCleanup(translation.deactivate)


def anchor_key() -> str:
    """A fresh Ed25519 private key as ANCHOR_SIGNING_KEY holds it: base64 of its 32 raw bytes."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    raw = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode()
