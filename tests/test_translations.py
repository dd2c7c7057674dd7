"""Chinese first, English second: both catalogues complete and up to date with the code."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from django.test import SimpleTestCase

from tests.support import requires_gettext

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = "locale/{}/LC_MESSAGES/django.po"


def entries(path: Path) -> dict[str, tuple[str, bool]]:
    """{msgid: (msgstr, fuzzy)} of a PO file, plurals keyed by their singular."""

    def joined(block: str) -> str:
        return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', block))

    result = {}
    for chunk in path.read_text(encoding="utf-8").split("\n\n"):
        msgid = re.search(r'^msgid ((?:".*"\n)+)', chunk + "\n", re.M)
        if not msgid or chunk.lstrip().startswith("#~"):
            continue
        msgstr = re.search(r'^msgstr(?:\[0\])? ((?:".*"\n?)+)', chunk + "\n", re.M)
        result[joined(msgid.group(1))] = (joined(msgstr.group(1)) if msgstr else "", "#, fuzzy" in chunk)
    result.pop("", None)
    return result


class TranslationTests(SimpleTestCase):
    def test_every_chinese_string_is_translated_and_none_is_fuzzy(self):
        catalogue = entries(ROOT / CATALOGUE.format("zh_Hans"))
        untranslated = sorted(msgid for msgid, (msgstr, fuzzy) in catalogue.items() if not msgstr or fuzzy)
        self.assertEqual(untranslated, [])
        self.assertEqual(catalogue["Harvest"][0], "采收")

    def test_the_compiled_catalogue_matches_the_source(self):
        """The committed .mo is compiled from the committed .po: every plain entry translates at run time."""
        from django.utils import translation

        text = (ROOT / CATALOGUE.format("zh_Hans")).read_text(encoding="utf-8")
        plain = {
            msgid: msgstr
            for msgid, (msgstr, _fuzzy) in entries(ROOT / CATALOGUE.format("zh_Hans")).items()
            if f'msgid "{msgid}"\nmsgid_plural' not in text and "%" not in msgid and "\\" not in msgid
        }
        with translation.override("zh-hans"):
            stale = {msgid for msgid, msgstr in plain.items() if translation.gettext(msgid) != msgstr}
        self.assertEqual(sorted(stale), [], "run `make messages` to recompile the catalogue")

    @requires_gettext
    def test_the_catalogues_hold_every_string_the_code_uses(self):
        work = Path(self._tmpdir()) / "repo"
        shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(".venv", "var", ".git", "test-artifacts", "*.pyc"))
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--ignore=var", "--no-obsolete", "-v0"],
            cwd=work,
            check=True,
            env={"DEBUG": "1", "PATH": "/usr/bin:/bin"},
        )
        fresh = set(entries(work / CATALOGUE.format("zh_Hans")))
        committed = set(entries(ROOT / CATALOGUE.format("zh_Hans")))
        self.assertEqual(sorted(fresh - committed), [], "run `make messages` and translate the new strings")

    def _tmpdir(self) -> str:
        import tempfile

        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory, True)
        return directory
