from django.test import SimpleTestCase

from shipments.geography import distance_km, place


class PlaceTests(SimpleTestCase):
    def test_english_place_names_do_not_repeat(self):
        parts = ["Sanyuanzhu Village, Shouguang", "Shouguang, Weifang", "Shandong"]
        self.assertEqual(place(parts, "en"), "Sanyuanzhu Village, Shouguang, Weifang, Shandong")
        self.assertEqual(
            place(["Minle, Wuchang", "Wuchang County, Harbin", "Heilongjiang"], "en"),
            "Minle, Wuchang, Harbin, Heilongjiang",
        )

    def test_chinese_reads_from_the_province_down_without_repeats(self):
        self.assertEqual(place(["仙居县杨梅村", "仙居县", "浙江省"], "zh-hans"), "浙江省仙居县杨梅村")
        self.assertEqual(place(["三元朱村", "寿光市", "山东省"], "zh-hans"), "山东省寿光市三元朱村")


class DistanceTests(SimpleTestCase):
    def test_the_haversine_distance_from_xianju_to_shanghai(self):
        self.assertEqual(round(distance_km((28.8469, 120.7286), (31.2286, 121.448))), 274)

    def test_an_unknown_position_gives_no_distance(self):
        self.assertIsNone(distance_km((None, None), (31.2286, 121.448)))
