from django.test import SimpleTestCase

from farms.vocabulary import term


class VocabularyTests(SimpleTestCase):
    def test_a_known_test_type_or_certification_reads_in_english(self):
        self.assertEqual(term("test", "农药残留快速检测", "en"), "Pesticide residue rapid test")
        self.assertEqual(term("test", "农残速测", "en"), "Pesticide residue rapid test")
        self.assertEqual(term("certification", "绿色食品A级", "en"), "Green Food, grade A")
        self.assertEqual(term("certification", "地理标志产品", "en"), "Geographical indication product")

    def test_chinese_readers_see_what_was_entered_in_chinese_and_the_chinese_term_for_english(self):
        self.assertEqual(term("test", "农残速测", "zh-hans"), "农残速测")
        self.assertEqual(term("certification", "certified organic", "zh-hans"), "有机产品认证")

    def test_free_text_is_shown_as_entered(self):
        self.assertEqual(term("test", "村里自测", "en"), "村里自测")
        self.assertEqual(term("certification", "Rainforest Alliance", "zh-hans"), "Rainforest Alliance")
