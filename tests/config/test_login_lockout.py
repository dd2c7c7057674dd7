"""Password guessing is stopped on every login door (/accounts/login/, /admin/login/, the API
token endpoint), per account and per client address, with django-axes."""

from django.test import TestCase, override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.support import make_user

WRONG = 5  # settings.AXES_FAILURE_LIMIT


class LoginDoorTests(TestCase):
    def setUp(self):
        self.alice = make_user("alice")
        self.admin = make_user("root", is_staff=True, is_superuser=True)

    def web_login(self, door: str, username: str, password: str, address: str = "203.0.113.5", **extra):
        return self.client.post(door, {"username": username, "password": password}, REMOTE_ADDR=address, **extra)

    def test_the_right_password_after_five_wrong_ones_is_refused_on_the_login_page(self):
        codes = [self.web_login("/accounts/login/", "alice", f"guess-{n}").status_code for n in range(WRONG)]
        response = self.web_login("/accounts/login/", "alice", "pw-alice", HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(codes, [200] * (WRONG - 1) + [429])  # the fifth failure locks
        self.assertEqual(response.status_code, 429)
        self.assertContains(response, "Too many failed logins", status_code=429)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_the_lockout_page_is_in_chinese_by_default(self):
        for n in range(WRONG):
            self.web_login("/accounts/login/", "alice", f"guess-{n}")
        response = self.web_login("/accounts/login/", "alice", "pw-alice", HTTP_ACCEPT_LANGUAGE="zh-hans")
        self.assertContains(response, "登录失败次数过多", status_code=429)

    def test_the_admin_login_is_locked_too(self):
        for n in range(WRONG):
            self.web_login("/admin/login/", "root", f"guess-{n}")
        response = self.web_login("/admin/login/", "root", "pw-root")
        self.assertEqual(response.status_code, 429)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_the_token_endpoint_is_locked_and_answers_in_the_api_error_format(self):
        client = APIClient(REMOTE_ADDR="203.0.113.5", HTTP_ACCEPT_LANGUAGE="en")
        codes = [
            client.post("/api/v1/auth/token/", {"username": "alice", "password": f"guess-{n}"}).status_code
            for n in range(WRONG)
        ]
        response = client.post("/api/v1/auth/token/", {"username": "alice", "password": "pw-alice"})
        self.assertEqual((codes, response.status_code), ([401] * (WRONG - 1) + [429], 429))
        self.assertEqual(response.json()["error"]["code"], "locked_out")
        self.assertEqual(Token.objects.count(), 0)

    def test_an_account_is_locked_whatever_address_the_guesses_come_from(self):
        for n in range(WRONG):
            self.web_login("/accounts/login/", "alice", f"guess-{n}", address=f"198.51.100.{n}")
        self.assertEqual(self.web_login("/accounts/login/", "alice", "pw-alice", address="192.0.2.1").status_code, 429)

    def test_an_address_is_locked_whatever_accounts_it_guesses(self):
        for n in range(WRONG):
            make_user(f"user{n}")
            self.web_login("/accounts/login/", f"user{n}", "wrong")
        self.assertEqual(self.web_login("/accounts/login/", "alice", "pw-alice").status_code, 429)
        elsewhere = self.web_login("/accounts/login/", "alice", "pw-alice", address="192.0.2.1")
        self.assertEqual(elsewhere.status_code, 302)  # alice's account itself is not locked

    def test_a_rotated_forwarded_header_does_not_reset_the_count(self):
        for n in range(WRONG):
            self.web_login("/accounts/login/", f"user{n}", "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
        response = self.web_login("/accounts/login/", "alice", "pw-alice", HTTP_X_FORWARDED_FOR="10.9.9.9")
        self.assertEqual(response.status_code, 429)

    @override_settings(TRUSTED_PROXY_COUNT=1)
    def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(self):
        for n in range(WRONG):
            self.web_login("/accounts/login/", f"user{n}", "wrong", address="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6")
        elsewhere = self.web_login(
            "/accounts/login/", "alice", "pw-alice", address="127.0.0.1", HTTP_X_FORWARDED_FOR="7.7.7.7"
        )
        self.assertEqual(elsewhere.status_code, 302)

    def test_a_success_before_the_limit_starts_the_count_again(self):
        for n in range(WRONG - 1):
            self.web_login("/accounts/login/", "alice", f"guess-{n}")
        self.assertEqual(self.web_login("/accounts/login/", "alice", "pw-alice").status_code, 302)
        self.client.post("/accounts/logout/")
        self.web_login("/accounts/login/", "alice", "guess-again")
        self.assertEqual(self.web_login("/accounts/login/", "alice", "pw-alice").status_code, 302)
