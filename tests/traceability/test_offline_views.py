"""The server's side of the farmer's offline app: the service worker and manifest, the outbox
page, the record form for any lot, the data a phone keeps, the session the outbox asks about,
and pages whose JavaScript all comes from files (a Content-Security-Policy of script-src 'self')."""

import io
import json
from html.parser import HTMLParser

from django.test import Client, TestCase
from PIL import Image

from tests.support import (
    in_english,
    make_batch,
    make_crop,
    make_farm,
    make_field,
    make_retailer,
    make_user,
    make_village,
)
from traceability.batch_forms import EVENT_FIELDS
from traceability.models import Batch, TraceEvent

LOT = "XJ-WAX-20260612-001"


class ScriptsAndHandlers(HTMLParser):
    """Every <script> of a page and every inline event handler attribute (onclick=...)."""

    def __init__(self):
        super().__init__()
        self.scripts: list[dict] = []
        self.inline: list[str] = []
        self.handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.handlers += [f"{tag} {name}" for name in attributes if name.startswith("on")]
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append(data.strip()[:60])


class OfflineAppTests(TestCase):
    def setUp(self):
        in_english(self)
        self.village = make_village("XJ")
        self.farm = make_farm(self.village)
        self.field = make_field(self.farm)
        self.crop = make_crop("WAX")
        self.batch = make_batch(self.farm, self.crop, LOT)
        other = make_village("SG", name_zh="寻乌县脐橙村")
        self.other_farm = make_farm(other, name_zh="赖家果园")
        make_batch(self.other_farm, self.crop, "SG-WAX-20260612-001")
        self.alice = make_user("alice", role="farmer", village=self.village)
        self.client.force_login(self.alice)

    def test_the_service_worker_is_served_from_the_root_fresh_on_every_visit(self):
        response = Client().get("/sw.js")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            (response["Content-Type"], response["Cache-Control"], response["Service-Worker-Allowed"]),
            ("text/javascript; charset=utf-8", "no-cache", "/"),
        )
        body = response.content.decode()
        self.assertIn('importScripts("/static/offline/outbox.js");', body)
        assets = json.loads(body.split("var ASSETS = ", 1)[1].split(";", 1)[0])
        self.assertEqual(
            assets,
            [
                "/static/css/app.css",
                "/static/offline/outbox.js",
                "/static/offline/app.js",
                "/static/offline/icon-192.png",
                "/static/offline/icon-512.png",
            ],
        )
        for asset in assets:
            self.assertEqual(Client().get(asset).status_code, 200, asset)

    def test_the_manifest_names_the_app_in_chinese_and_its_icons_are_real_pngs(self):
        response = Client().get("/manifest.webmanifest", HTTP_ACCEPT_LANGUAGE="zh-hans")
        self.assertEqual(response["Content-Type"], "application/manifest+json")
        manifest = json.loads(response.content)
        self.assertEqual(
            {key: manifest[key] for key in ("name", "short_name", "start_url", "scope", "display")},
            {
                "name": "从农场到餐桌：农事记录",
                "short_name": "农事记录",
                "start_url": "/",
                "scope": "/",
                "display": "standalone",
            },
        )
        for icon in manifest["icons"]:
            png = b"".join(Client().get(icon["src"]).streaming_content)
            self.assertEqual(
                f"{Image.open(io.BytesIO(png)).size[0]}x{Image.open(io.BytesIO(png)).size[1]}", icon["sizes"]
            )

    def test_the_outbox_asks_who_is_signed_in_and_gets_a_csrf_token_that_the_api_accepts(self):
        self.assertEqual(json.loads(Client().get("/batches/outbox/session.json").content), {"user": None, "csrf": None})
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.alice)
        response = client.get("/batches/outbox/session.json")
        self.assertIn("no-store", response["Cache-Control"])
        session = json.loads(response.content)
        self.assertEqual(session["user"], self.alice.pk)
        event = {
            "batch": LOT,
            "kind": "cooling",
            "occurred_at": "2026-06-12T08:00:00+08:00",
            "data": {"temperature_c": 4},
        }
        refused = client.post("/api/v1/events/", event, content_type="application/json")
        self.assertEqual(refused.status_code, 403)
        accepted = client.post(
            "/api/v1/events/",
            event,
            content_type="application/json",
            HTTP_X_CSRFTOKEN=session["csrf"],
            HTTP_X_OUTBOX_USER=str(self.alice.pk),
        )
        self.assertEqual(accepted.status_code, 201, accepted.content)
        self.assertEqual(TraceEvent.objects.get().actor, self.alice)

    def test_the_phone_keeps_the_lots_farms_fields_and_crops_of_the_farmers_village_only(self):
        data = json.loads(self.client.get("/batches/outbox/data.json").content)
        self.assertEqual(data["user"], self.alice.pk)
        self.assertEqual(
            data["lots"],
            [
                {
                    "lot_code": LOT,
                    "crop": self.crop.pk,
                    "farm": self.farm.pk,
                    "field": None,
                    "status": "harvested",
                    "status_label": "Harvested",
                    "held": False,
                    "quantity": "100",
                    "unit": "kg",
                    "unit_label": "kg",
                    "harvested_on": "2026-06-12",
                }
            ],
        )
        self.assertEqual(data["farms"], [{"id": self.farm.pk, "name": "Wang Family Orchard"}])
        self.assertEqual(data["fields"], [{"id": self.field.pk, "farm": self.farm.pk, "name": "东坡地"}])
        self.assertEqual(data["crops"], [{"id": self.crop.pk, "code": "WAX", "name": "Waxberry"}])

    def test_people_outside_a_village_get_no_outbox_and_no_offline_data(self):
        anonymous = Client()
        for path in ("/batches/outbox/", "/batches/outbox/data.json", "/batches/record/cooling/"):
            self.assertEqual(anonymous.get(path)["Location"], f"/accounts/login/?next={path}")
        retailer = make_user("rita")
        make_retailer(villages=[self.village], staff=[retailer])
        self.client.force_login(retailer)
        for path in ("/batches/outbox/", "/batches/outbox/data.json", "/batches/record/cooling/"):
            self.assertEqual(self.client.get(path).status_code, 404, path)
        self.assertNotIn('id="offline"', self.client.get("/").content.decode())

    def test_the_record_form_for_any_lot_is_only_shown_never_posted_to(self):
        html = self.client.get("/batches/record/quality_test/").content.decode()
        self.assertIn('data-outbox="event" data-kind="quality_test" data-lot=""', html)
        self.assertIn('name="photo"', html)
        self.assertIn('<p class="code" data-offline-lot></p>', html)
        self.assertEqual(self.client.get("/batches/record/shipping/").status_code, 404)
        self.assertEqual(self.client.post("/batches/record/cooling/", {"temperature_c": "4"}).status_code, 405)
        self.assertEqual(TraceEvent.objects.count(), 0)

    def test_a_lots_own_forms_name_their_lot_for_the_outbox(self):
        html = self.client.get(f"/batches/{LOT}/record/cooling/").content.decode()
        self.assertIn(f'data-outbox="event" data-kind="cooling" data-lot="{LOT}" data-unit="kg"', html)
        self.assertIn('data-outbox="batch"', self.client.get("/batches/new/").content.decode())
        self.assertIn(
            f'<div id="offline-pending" data-lot="{LOT}" hidden>', self.client.get(f"/batches/{LOT}/").content.decode()
        )

    def test_the_farmers_pages_run_no_inline_script_and_no_inline_event_handler(self):
        paths = [
            "/",
            "/batches/",
            "/batches/new/",
            f"/batches/{LOT}/",
            f"/batches/{LOT}/record/quality_test/",
            "/batches/outbox/",
            "/batches/record/harvest/",
        ]
        for path in paths + ["/accounts/login/"]:
            client = self.client if path != "/accounts/login/" else Client()
            parser = ScriptsAndHandlers()
            parser.feed(client.get(path).content.decode())
            self.assertEqual(
                [script.get("src") for script in parser.scripts],
                ["/static/offline/outbox.js", "/static/offline/app.js"],
                path,
            )
            self.assertEqual((parser.inline, parser.handlers), ([], []), path)

    def test_the_words_of_the_offline_app_come_in_the_pages_language(self):
        html = self.client.get("/batches/outbox/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        self.assertIn('data-t-saved="已保存在这台手机上。有信号时会自动发送。"', html)
        self.assertIn('data-t-registered="批次 %(lot)s 已登记。"', html)
        self.assertIn(f'data-user="{self.alice.pk}"', html)
        self.assertIn(f'data-kinds="{" ".join(EVENT_FIELDS)}"', html)
        self.assertEqual(Batch.objects.count(), 2)
