"""The API's rate limits: they keep working with Redis down, and believe X-Forwarded-For only
from the proxies the deployment trusts (TRUSTED_PROXY_COUNT)."""

import socket
from unittest import mock

from django.test import TestCase, override_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.support import api_client, make_api_world

V1 = "/api/v1"
REDIS = "django.core.cache.backends.redis.RedisCache"


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_down():
    """Redis configured, nothing listening: every cache call fails to connect."""
    location = f"redis://127.0.0.1:{unused_port()}/0"
    return override_settings(CACHES={"default": {"BACKEND": REDIS, "LOCATION": location}})


def token_requests(client: APIClient, count: int, **headers) -> list[int]:
    return [
        client.post(f"{V1}/auth/token/", {"username": "nobody", "password": "wrong"}, **headers).status_code
        for _ in range(count)
    ]


class RedisDownTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.w = make_api_world()

    def setUp(self):
        from api import throttling  # noqa

        self.enterContext(redis_down())
        throttling.shared_or_local.reset()
        self.addCleanup(throttling.shared_or_local.reset)

    def test_the_api_answers_with_redis_down(self):
        with self.assertLogs("api.throttling", "WARNING") as logs:
            response = api_client(self.w.alice).get(f"{V1}/farms/")
        self.assertEqual((response.status_code, response.json()["count"]), (200, 1))
        self.assertIn("counted in this process", logs.output[0])

    def test_a_token_is_issued_with_redis_down(self):
        response = APIClient().post(f"{V1}/auth/token/", {"username": "alice", "password": "pw-alice"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(response.json()["token"]), 40)

    def test_limits_still_hold_per_process_with_redis_down(self):
        with mock.patch.dict(SimpleRateThrottle.THROTTLE_RATES, {"token": "2/minute"}):
            self.assertEqual(token_requests(APIClient(), 3), [401, 401, 429])


class ForwardedForTests(TestCase):
    """The token endpoint's limit was keyed on the raw X-Forwarded-For, so rotating it bypassed the limit."""

    def test_without_trusted_proxies_a_rotated_forwarded_header_changes_nothing(self):
        client = APIClient()
        with mock.patch.dict(SimpleRateThrottle.THROTTLE_RATES, {"token": "2/minute"}):
            codes = [
                client.post(
                    f"{V1}/auth/token/",
                    {"username": "nobody", "password": "wrong"},
                    HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
                ).status_code
                for n in range(4)
            ]
        self.assertEqual(codes, [401, 401, 429, 429])

    @override_settings(TRUSTED_PROXY_COUNT=1)
    def test_behind_one_proxy_the_address_it_appended_counts_and_what_the_client_sent_does_not(self):
        client = APIClient()
        with mock.patch.dict(SimpleRateThrottle.THROTTLE_RATES, {"token": "2/minute"}):
            spoofed = [token_requests(client, 1, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 203.0.113.7")[0] for n in range(3)]
            other_client = token_requests(client, 1, HTTP_X_FORWARDED_FOR="203.0.113.8")
        self.assertEqual((spoofed, other_client), ([401, 401, 429], [401]))

    def test_the_client_address_takes_the_entry_the_first_trusted_proxy_appended(self):
        from django.test import RequestFactory

        from api.throttling import client_address

        request = RequestFactory().get("/", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4, 10.0.0.2")
        found = {}
        for count in (0, 1, 2, 3, 9):
            with override_settings(TRUSTED_PROXY_COUNT=count):
                found[count] = client_address(request)
        self.assertEqual(found, {0: "10.1.1.1", 1: "10.0.0.2", 2: "1.2.3.4", 3: "6.6.6.6", 9: "6.6.6.6"})
