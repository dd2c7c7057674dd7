"""The embedded Chinese font."""

from django.test import SimpleTestCase

from shipments import labels


class FontTests(SimpleTestCase):
    def test_a_missing_font_names_the_debian_package(self):
        with self.assertRaisesMessage(labels.FontMissing, "apt-get install fonts-wqy-zenhei"):
            labels.register_fonts("/nonexistent/wqy-zenhei.ttc")
