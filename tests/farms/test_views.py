"""The coordinator's village page, farms and fields; what other roles are refused; login and language."""

from decimal import Decimal

from django.test import TestCase

from farms.models import Farm, Field
from tests.support import in_english, make_crop, make_farm, make_field, make_user, make_village


class VillagePageTests(TestCase):
    def setUp(self):
        in_english(self)
        self.village = make_village("XJ")
        self.other = make_village("SG", name_zh="寻乌县脐橙村")
        self.farm = make_farm(self.village)
        self.other_farm = make_farm(self.other, name_zh="赖家果园")
        self.wax, self.bam = make_crop("WAX"), make_crop("BAM", name_zh="春笋", name_en="Bamboo shoot")
        self.alice = make_user("alice", role="coordinator", village=self.village)
        self.client.force_login(self.alice)

    def test_the_coordinator_edits_the_story_and_specialties(self):
        response = self.client.post(
            "/village/XJ/",
            {
                "story_zh": "千年杨梅村。",
                "story_en": "A thousand years of waxberries.",
                "specialties": [self.wax.pk],
                "time_zone": "Asia/Shanghai",
            },
        )
        self.assertRedirects(response, "/village/XJ/")
        self.village.refresh_from_db()
        self.assertEqual(
            (self.village.story_zh, self.village.story_en), ("千年杨梅村。", "A thousand years of waxberries.")
        )
        self.assertEqual(list(self.village.specialties.all()), [self.wax])

    def test_the_coordinator_records_the_address_phone_and_time_zone_and_a_bad_zone_changes_nothing(self):
        location = {
            "address_zh": "浙江省台州市仙居县步路乡杨梅村村委会",
            "address_en": "Yangmei Village Committee, Bulu Township, Xianju, Zhejiang",
            "phone": "0576-8773 0001",
            "time_zone": "Asia/Urumqi",
        }
        response = self.client.post("/village/XJ/", {"story_zh": "千年杨梅村。", **location})
        self.assertRedirects(response, "/village/XJ/")
        self.village.refresh_from_db()
        self.assertEqual(
            [self.village.address_zh, self.village.address_en, self.village.phone, self.village.time_zone],
            list(location.values()),
        )
        response = self.client.post("/village/XJ/", {"story_zh": "改了", **location, "time_zone": "Mars/Olympus"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.context["form"].errors["time_zone"],
            ["Mars/Olympus is not a known time zone: use an IANA name such as Asia/Shanghai."],
        )
        self.village.refresh_from_db()
        self.assertEqual((self.village.story_zh, self.village.time_zone), ("千年杨梅村。", "Asia/Urumqi"))

    def test_the_coordinator_records_a_farms_address(self):
        response = self.client.post(
            f"/farms/{self.farm.pk}/",
            {
                "village": self.village.pk,
                "name_zh": "王家果园",
                "grower_name": "王建国",
                "address_zh": "仙居县步路乡杨梅村东坡 8 号",
                "address_en": "8 East Slope, Yangmei Village",
            },
        )
        self.assertRedirects(response, f"/farms/{self.farm.pk}/")
        self.farm.refresh_from_db()
        self.assertEqual(
            (self.farm.address_zh, self.farm.address_en),
            ("仙居县步路乡杨梅村东坡 8 号", "8 East Slope, Yangmei Village"),
        )

    def test_another_village_and_farm_answer_404(self):
        self.assertEqual(self.client.post("/village/SG/", {"story_zh": "x"}).status_code, 404)
        self.assertEqual(self.client.post(f"/farms/{self.other_farm.pk}/", {"name_zh": "x"}).status_code, 404)
        self.assertEqual(
            self.client.post(f"/farms/{self.other_farm.pk}/fields/new/", {"name_zh": "x"}).status_code, 404
        )
        self.other.refresh_from_db()
        self.assertEqual((self.other.story_zh, Farm.objects.get(pk=self.other_farm.pk).name_zh), ("", "赖家果园"))
        self.assertEqual(Field.objects.count(), 0)

    def test_farmers_see_no_village_or_farm_pages(self):
        bob = make_user("bob", role="farmer", village=self.village)
        self.client.force_login(bob)
        for path in ("/village/", "/village/XJ/", "/farms/", "/farms/new/", f"/farms/{self.farm.pk}/"):
            self.assertEqual(self.client.get(path).status_code, 404, path)
        self.assertNotIn('href="/village/"', self.client.get("/").content.decode())

    def test_it_adds_a_farm_and_a_field_and_keeps_input_on_a_duplicate_name(self):
        response = self.client.post(
            "/farms/new/",
            {"village": self.village.pk, "name_zh": "陈家果园", "grower_name": "陈美玲", "contact_phone": "138"},
        )
        farm = Farm.objects.get(name_zh="陈家果园")
        self.assertRedirects(response, f"/farms/{farm.pk}/")
        self.client.post(f"/farms/{farm.pk}/fields/new/", {"name_zh": "南坡", "area_mu": "3.5"})
        self.assertEqual(list(farm.fields.values_list("name_zh", "area_mu")), [("南坡", Decimal("3.50"))])
        response = self.client.post(f"/farms/{farm.pk}/fields/new/", {"name_zh": "南坡", "name_en": "South slope"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.context["form"].errors["name_zh"], ["This farm already has a field with this name."])
        self.assertIn('value="South slope"', response.content.decode())
        self.assertEqual(farm.fields.count(), 1)

    def test_a_farm_cannot_be_moved_to_a_village_the_coordinator_does_not_run(self):
        response = self.client.post(
            f"/farms/{self.farm.pk}/", {"village": self.other.pk, "name_zh": "王家果园", "grower_name": "王建国"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("village", response.context["form"].errors)
        self.assertEqual(Farm.objects.get(pk=self.farm.pk).village, self.village)

    def test_a_field_of_another_village_answers_404(self):
        field = make_field(self.other_farm)
        self.assertEqual(self.client.post(f"/fields/{field.pk}/", {"name_zh": "x"}).status_code, 404)
        self.assertEqual(Field.objects.get(pk=field.pk).name_zh, "东坡地")


class LoginAndLanguageTests(TestCase):
    def test_anonymous_visitors_get_the_landing_page_and_staff_pages_send_them_to_login(self):
        html = self.client.get("/").content.decode()
        self.assertIn('href="/accounts/login/"', html)
        self.assertRedirects(
            self.client.get("/batches/"), "/accounts/login/?next=/batches/", fetch_redirect_response=False
        )
        self.assertRedirects(
            self.client.get("/shipments/"), "/accounts/login/?next=/shipments/", fetch_redirect_response=False
        )

    def test_logging_in_and_out(self):
        make_user("alice", role="auditor")
        response = self.client.post("/accounts/login/", {"username": "alice", "password": "pw-alice"})
        self.assertRedirects(response, "/")
        self.assertIn('action="/trace/"', self.client.get("/").content.decode())
        self.assertRedirects(self.client.post("/accounts/logout/"), "/")
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_the_language_switch_posts_to_set_language_and_the_pages_follow(self):
        html = self.client.get("/").content.decode()
        self.assertIn('<form action="/i18n/setlang/" method="post">', html)
        self.assertIn('name="csrfmiddlewaretoken"', html)
        self.assertIn('<html lang="zh-hans">', html)
        self.client.post("/i18n/setlang/", {"language": "en", "next": "/"})
        self.assertIn('<html lang="en">', self.client.get("/").content.decode())
