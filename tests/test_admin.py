from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import TestCase
from django.urls import reverse

from traceability.models import TraceEvent


class AdminTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        call_command("seed_demo", stdout=StringIO())

    def setUp(self):
        self.client.force_login(get_user_model().objects.get(username="admin"))

    def test_every_changelist_renders_the_demo_data(self):
        expectations = {
            "farms/village": "仙居县步路乡杨梅村",
            "farms/farm": "王家杨梅园",
            "farms/crop": "Waxberry",
            "farms/recipe": "番茄炒蛋",
            "traceability/batch": "XJ-WAX-",
            "traceability/traceevent": "仙居县步路乡杨梅村",
            "shipments/shipment": "上海静安店",
            "shipments/retailer": "GreenSource Fresh",
        }
        for path, text in expectations.items():
            response = self.client.get(f"/admin/{path}/", HTTP_ACCEPT_LANGUAGE="en")
            self.assertEqual(response.status_code, 200, path)
            self.assertContains(response, text, msg_prefix=path)

    def test_events_are_read_only_in_the_admin(self):
        event = TraceEvent.objects.first()
        change = self.client.get(reverse("admin:traceability_traceevent_change", args=[event.pk]))
        self.assertNotContains(change, 'name="_save"')
        delete = self.client.post(reverse("admin:traceability_traceevent_delete", args=[event.pk]), {"post": "yes"})
        self.assertEqual(delete.status_code, 403)
        self.assertTrue(TraceEvent.objects.filter(pk=event.pk).exists())
