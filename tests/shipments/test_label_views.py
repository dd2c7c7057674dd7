"""The print labels page and the download: only the shipment's retailer staff and village members
print; bad input answers 400 with every problem next to its field."""

import zxingcpp
from django.urls import reverse

from shipments import labels, services
from tests.shipments.labels.support import LabelFixture, pages


class PrintLabelsPageTests(LabelFixture):
    def page_url(self, code=None):
        return reverse("labels:print", args=[code or self.shipment.public_code])

    def download_url(self, code=None):
        return reverse("labels:download", args=[code or self.shipment.public_code])

    def test_retailer_staff_see_the_form_with_every_layout(self):
        self.client.force_login(self.alice)
        response = self.client.get(self.page_url(self.shipment.public_code.lower()))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.context["shipment"], self.shipment)
        self.assertEqual(
            [choice[0] for choice in response.context["form"].fields["layout"].choices], list(labels.LAYOUTS)
        )
        self.assertContains(response, f'action="{self.download_url()}"')
        self.assertContains(response, "XJ-WAX-20260614-001")

    def test_the_page_reads_in_english_and_leads_back_to_the_shipment(self):
        self.client.force_login(self.alice)
        response = self.client.get(self.page_url(), HTTP_ACCEPT_LANGUAGE="en")
        self.assertContains(response, "Xianju Waxberry Village → 上海静安店 ·")  # the store has no English name
        self.assertContains(response, "<td>Waxberry</td>", html=True)
        code = self.shipment.public_code
        self.assertContains(response, f'<a href="/shipments/{code}/">Back to the shipment</a>', html=True)

    def test_retailer_staff_village_members_and_superusers_download_labels_that_scan(self):
        for user in (self.alice, self.bob, self.root):
            with self.subTest(user=user.username):
                self.client.force_login(user)
                response = self.client.get(
                    self.download_url(), {"layout": "thermal-40x30", "copies": "2", "start": "1", "format": "pdf"}
                )
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response["Content-Type"], "application/pdf")
                self.assertEqual(
                    response["Content-Disposition"],
                    f'attachment; filename="labels-{self.shipment.public_code}-thermal-40x30.pdf"',
                )
                texts = [[b.text for b in zxingcpp.read_barcodes(image)] for image, _ in pages(response.content, 203)]
                self.assertEqual(texts, [[self.url], [self.url]])

    def test_zpl_downloads_as_a_file(self):
        self.client.force_login(self.alice)
        response = self.client.get(
            self.download_url(), {"layout": "shipping-4x6", "copies": "3", "start": "1", "format": "zpl"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response["Content-Disposition"],
            f'attachment; filename="labels-{self.shipment.public_code}-shipping-4x6.zpl"',
        )
        self.assertIn(f"^FDMA,{self.url}^FS", response.content.decode())
        self.assertIn("^PQ3,0,1,Y", response.content.decode())

    def test_others_get_404_on_the_page_and_the_download(self):
        query = {"layout": "a4-3x7", "copies": "1", "start": "1", "format": "pdf"}
        for user in (None, self.charlie, self.dora, self.erin):
            with self.subTest(user=user and user.username):
                self.client.logout()
                if user:
                    self.client.force_login(user)
                self.assertEqual(self.client.get(self.page_url()).status_code, 404)
                response = self.client.get(self.download_url(), query)
                self.assertEqual(response.status_code, 404)
                self.assertNotIn("Content-Disposition", response)
        self.client.force_login(self.alice)
        self.assertEqual(self.client.get(self.page_url("Z" * 16)).status_code, 404)

    def test_bad_input_answers_400_with_the_reason_and_no_file(self):
        self.client.force_login(self.alice)
        cases = [
            (
                {"layout": "a4-9x9", "copies": "1", "start": "1"},
                "Unknown layout “a4-9x9”: choose one of a4-3x7, a4-3x8",
            ),
            ({"layout": "a4-3x7", "copies": "0", "start": "1"}, "whole number from 1 to 5000"),
            ({"layout": "a4-3x7", "copies": "5001", "start": "1"}, "whole number from 1 to 5000"),
            ({"layout": "a4-3x7", "copies": "many", "start": "1"}, "Enter a whole number."),
            ({"layout": "a4-4x10", "copies": "1", "start": "41"}, "The start slot must be from 1 to 40"),
            ({"layout": "thermal-50x30", "copies": "1", "start": "3"}, "the start slot must be 1"),
            ({"layout": "a4-3x7", "copies": "1", "start": "1", "format": "zpl"}, "ZPL is for thermal printers"),
        ]
        for query, message in cases:
            query = {"format": "pdf", **query}
            with self.subTest(query=query):
                response = self.client.get(self.download_url(), query)
                self.assertEqual(response.status_code, 400)
                self.assertEqual(response["Content-Type"], "text/html; charset=utf-8")
                self.assertNotIn("Content-Disposition", response)
                self.assertContains(response, message, status_code=400)

    def test_the_form_shows_every_problem_next_to_its_field(self):
        self.client.force_login(self.alice)
        response = self.client.get(
            self.download_url(), {"layout": "a4-3x7", "copies": "0", "start": "30", "format": "zpl"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            response.context["form"].errors,
            {
                "copies": ["The number of copies must be a whole number from 1 to 5000."],
                "start": ["The start slot must be from 1 to 21: a4-3x7 has 21 labels per sheet."],
                "format": [
                    "ZPL is for thermal printers: choose one of thermal-40x30, thermal-50x30, thermal-60x40, "
                    "shipping-4x6."
                ],
            },
        )

    def test_a_shipment_without_items_is_refused_with_400(self):
        empty = services.create_shipment(origin_village=self.village, store=self.shipment.store)
        self.client.force_login(self.alice)
        response = self.client.get(
            self.download_url(empty.public_code),
            {"layout": "a4-3x7", "copies": "1", "start": "1", "format": "pdf"},
        )
        self.assertContains(response, "has no items: add at least one batch", status_code=400)
        self.assertNotIn("Content-Disposition", response)
