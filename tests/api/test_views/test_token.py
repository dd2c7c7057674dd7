"""api/views.py: the token endpoint, and what anonymous callers get from every resource."""

from django.test import TestCase
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from farms.models import Farm
from tests.support import make_api_world

V1 = "/api/v1"


class AuthenticationTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def test_anonymous_callers_get_401_with_the_error_format_on_every_resource(self):
        client = APIClient()
        for resource in ["villages", "farms", "fields", "crops", "recipes", "batches", "events", "recalls"]:
            response = client.get(f"{V1}/{resource}/")
            self.assertEqual(response.status_code, 401, resource)
            self.assertEqual(response.json()["error"]["code"], "not_authenticated")
        for resource in ["retailers", "stores", "shipments", "scans"]:
            self.assertEqual(client.get(f"{V1}/{resource}/").status_code, 401, resource)
        self.assertEqual(client.post(f"{V1}/farms/", {"village": self.w.xj.pk}).status_code, 401)
        self.assertEqual(Farm.objects.count(), 2)

    def test_a_user_gets_a_token_with_username_and_password_and_can_revoke_it(self):
        client = APIClient()
        response = client.post(f"{V1}/auth/token/", {"username": "alice", "password": "pw-alice"})
        self.assertEqual(response.status_code, 200)
        key = response.json()["token"]
        self.assertEqual(Token.objects.get(user=self.w.alice).key, key)

        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        self.assertEqual(client.get(f"{V1}/farms/").json()["count"], 1)
        self.assertEqual(client.delete(f"{V1}/auth/token/").status_code, 204)
        self.assertFalse(Token.objects.filter(user=self.w.alice).exists())
        self.assertEqual(client.get(f"{V1}/farms/").status_code, 401)

    def test_token_requests_are_throttled_per_address(self):
        from unittest import mock

        from rest_framework.throttling import SimpleRateThrottle

        client = APIClient()
        with mock.patch.dict(SimpleRateThrottle.THROTTLE_RATES, {"token": "2/minute"}):
            codes = [client.post(f"{V1}/auth/token/", {"username": "x", "password": "y"}).status_code for _ in range(3)]
        self.assertEqual(codes, [401, 401, 429])

    def test_a_wrong_password_gets_no_token(self):
        response = APIClient().post(f"{V1}/auth/token/", {"username": "alice", "password": "wrong"})
        self.assertEqual(response.status_code, 401)
        self.assertEqual(Token.objects.count(), 0)
