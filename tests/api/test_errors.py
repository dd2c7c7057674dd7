"""Service errors carry their HTTP meaning: mapped once for the API (api.errors.exception_handler)
and once for web pages (api.errors.refused); a plain ValueError is a bug, answered 500 and logged."""

from django.test import Client, TestCase, override_settings

from tests.support import api_client


def error(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


INVALID = "The request is not valid: see the field messages."


@override_settings(ROOT_URLCONF="tests.api.error_urls")
class ApiMappingTests(TestCase):
    def post(self, what: str):
        return api_client().post(f"/api/v1/raise/{what}/", {}, format="json")

    def test_each_kind_of_service_error_answers_its_status_in_the_error_format(self):
        expected = {
            "invalid": (400, error("invalid", INVALID, {"non_field_errors": ["That makes no sense."]})),
            "forbidden": (403, error("permission_denied", "Not yours to change.")),
            "not-found": (404, error("not_found", "No such lot.")),
            "conflict": (409, error("conflict", "Already done.")),
            "unprocessable": (422, error("unprocessable", "Cannot process.")),
            "default-message": (
                409,
                error("conflict", "The request conflicts with the current state of the resource."),
            ),
        }
        for what, (status, body) in expected.items():
            with self.subTest(what):
                response = self.post(what)
                self.assertEqual((response.status_code, response.json()), (status, body))

    def test_the_services_own_errors_keep_their_names_and_answer_as_before(self):
        expected = {
            "on-hold": (409, error("conflict", "Lot XJ-1 is on hold.")),
            "not-allowed": (403, error("permission_denied", "You may not recall lot XJ-1.")),
            "shipment-state": (409, error("conflict", "This shipment has left.")),
            "wrong-origin": (
                400,
                error("invalid", INVALID, {"non_field_errors": ["The farm is not in the origin village."]}),
            ),
        }
        for what, (status, body) in expected.items():
            with self.subTest(what):
                response = self.post(what)
                self.assertEqual((response.status_code, response.json()), (status, body))

    def test_a_plain_value_error_is_a_logged_500_not_a_400(self):
        client = api_client()
        client.raise_request_exception = False
        with self.assertLogs("django.request", "ERROR") as logs:
            response = client.post("/api/v1/raise/bug/", {}, format="json")
        self.assertEqual((response.status_code, response.json()), (500, error("error", "A server error occurred.")))
        self.assertIn("ValueError: a bug of ours", logs.output[0])


@override_settings(ROOT_URLCONF="tests.api.error_urls")
class WebMappingTests(TestCase):
    def test_a_refusal_becomes_a_message_on_the_next_page(self):
        response = self.client.post("/raise/on-hold/", follow=True)
        self.assertEqual(response.redirect_chain, [("/next/", 302)])
        self.assertEqual(response.content.decode(), "Lot XJ-1 is on hold. | refusal: conflict")

    def test_a_plain_value_error_is_not_taken_for_a_refusal(self):
        client = Client(raise_request_exception=False)
        with self.assertLogs("django.request", "ERROR"):
            response = client.post("/raise/bug/")
        self.assertEqual(response.status_code, 500)
        self.assertEqual(client.get("/next/").content.decode(), "")
