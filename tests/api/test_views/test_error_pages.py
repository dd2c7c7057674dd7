from django.test import Client, TestCase, override_settings


class NotFoundTests(TestCase):
    def test_an_unmatched_api_url_answers_json_in_the_api_error_format(self):
        response = self.client.get("/api/v1/nonsense/", HTTP_ACCEPT_LANGUAGE="zh-CN")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response["Content-Type"], "application/json")
        self.assertEqual(response.json(), {"error": {"code": "not_found", "message": "未找到。", "fields": {}}})
        self.assertIn("未找到。", response.content.decode())

    def test_an_unmatched_api_url_speaks_english_when_asked(self):
        response = self.client.get("/api/nonsense", HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(response.json(), {"error": {"code": "not_found", "message": "Not found.", "fields": {}}})

    def test_an_unmatched_page_gets_the_sites_404_page_with_a_way_home(self):
        response = self.client.get("/nonsense/", HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response["Content-Type"], "text/html; charset=utf-8")
        self.assertTemplateUsed(response, "404.html")
        self.assertContains(response, "<h1>Page not found</h1>", status_code=404, html=True)
        self.assertContains(response, '<a class="btn" href="/">Home</a>', status_code=404, html=True)


@override_settings(ROOT_URLCONF="tests.api.crash_urls")
class ServerErrorTests(TestCase):
    def setUp(self):
        self.client = Client(raise_request_exception=False)

    def test_a_crash_under_the_api_answers_json_in_the_api_error_format(self):
        response = self.client.get("/api/v1/crash/", HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(response.status_code, 500)
        self.assertEqual(
            response.json(), {"error": {"code": "error", "message": "A server error occurred.", "fields": {}}}
        )

    def test_a_crash_elsewhere_answers_the_plain_500_page(self):
        response = self.client.get("/crash/", HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(response.status_code, 500)
        self.assertContains(response, "<h1>Something went wrong</h1>", status_code=500, html=True)
