"""Hostile input gets a clear 4xx and changes nothing: JSON nested a thousand levels deep, NUL
bytes in paths and queries, the HTTP TRACE method."""

from django.test import TestCase

from tests.support import api_client, make_api_world, make_delivered_shipment, make_user
from traceability.models import Batch, TraceEvent

V1 = "/api/v1"


class DeepJsonTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def test_json_nested_a_thousand_levels_is_a_400_on_every_json_endpoint(self):
        body = "[" * 1000 + "]" * 1000
        deep_object = '{"a":' * 1000 + "1" + "}" * 1000
        client = api_client(self.w.alice)
        for url in (f"{V1}/batches/", f"{V1}/events/", f"{V1}/farms/", f"{V1}/transformations/", f"{V1}/recalls/"):
            for payload in (body, deep_object):
                response = client.generic("POST", url, payload, content_type="application/json")
                self.assertEqual(response.status_code, 400, url)
                self.assertEqual(response.json()["error"]["code"], "parse_error", url)
        anonymous = api_client().generic("POST", f"{V1}/auth/token/", body, content_type="application/json")
        self.assertEqual(anonymous.status_code, 400)
        self.assertEqual((Batch.objects.count(), TraceEvent.objects.count()), (2, 0))


class NulByteTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()
        cls.shipment = make_delivered_shipment(batches=[cls.w.batch], store=cls.w.store)
        cls.root = make_user("root", is_staff=True, is_superuser=True)

    def test_a_nul_byte_in_a_path_or_query_is_a_400(self):
        self.client.force_login(self.root)
        code = self.shipment.public_code
        for url in (
            f"/shipments/{code}%00/",
            f"/shipments/{code}%00/labels/",
            "/village/XJ%00/",
            f"/batches/{self.w.batch.lot_code}%00/",
            f"/s/{code}%00",
            "/trace/?lot=XJ%00",
            "/trace/export/fsma.csv?lot=XJ%00",
            "/trace/export/eu.csv?from=2026-01-01%00",
            f"{V1}/batches/?lot_code=XJ%00",
            f"{V1}/shipments/?q=%00",
        ):
            response = self.client.get(url)
            self.assertEqual(response.status_code, 400, url)
            self.assertIn(b"NUL", response.content, url)


class TraceMethodTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def test_the_trace_method_is_not_allowed_and_the_lineage_route_still_answers(self):
        client = api_client(self.w.alice)
        self.assertEqual(client.generic("TRACE", f"{V1}/batches/").status_code, 405)
        self.assertEqual(client.generic("TRACE", f"{V1}/batches/{self.w.batch.lot_code}/").status_code, 405)
        response = client.get(f"{V1}/batches/{self.w.batch.lot_code}/trace/")
        self.assertEqual((response.status_code, response.json()["lot"]["lot_code"]), (200, self.w.batch.lot_code))


class HealthCheckTests(TestCase):
    def test_the_health_check_answers_a_load_balancer_asking_by_ip_address(self):
        response = self.client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
        self.assertEqual((response.status_code, response.content), (200, b"ok"))
        self.assertEqual(self.client.get("/", HTTP_HOST="10.0.0.7:8000").status_code, 400)
