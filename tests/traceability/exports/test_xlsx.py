import io
import re
import xml.etree.ElementTree as ET
import zipfile

from django.test import SimpleTestCase
from openpyxl import load_workbook

from traceability.exports import xlsx

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
HEADER = ["Lot", "Note", "Quantity"]


def excel_unescape(text: str) -> str:
    """What Excel shows for a stored string: each _xHHHH_ is the character HHHH (_x005F_ is "_")."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda match: chr(int(match[1], 16)), text)


def stored_strings(content: bytes) -> list[str]:
    """The shared strings as stored, read with the standard library's XML parser."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        root = ET.fromstring(archive.read("xl/sharedStrings.xml"))
    return [item.find(f"{MAIN}t").text for item in root.iter(f"{MAIN}si")]


class WorkbookTests(SimpleTestCase):
    def test_it_writes_a_frozen_filterable_sheet_of_text_cells(self):
        rows = [["XJ-0001", "杨梅 Waxberry", "1E5"], ["2026-06-10", "", "007"]]
        content = xlsx.workbook("FSMA 204", HEADER, rows)
        book = load_workbook(io.BytesIO(content))
        sheet = book.active
        self.assertEqual(book.sheetnames, ["FSMA 204"])
        self.assertEqual(
            list(sheet.iter_rows(values_only=True)),
            [("Lot", "Note", "Quantity"), ("XJ-0001", "杨梅 Waxberry", "1E5"), ("2026-06-10", None, "007")],
        )
        # Text, never numbers or dates, even where the text looks like one.
        self.assertEqual({cell.data_type for row in sheet.iter_rows() for cell in row if cell.value}, {"s"})
        self.assertEqual(sheet.freeze_panes, "A2")
        self.assertEqual(sheet.auto_filter.ref, "A1:C3")
        self.assertEqual(sheet.dimensions, "A1:C3")
        # The hidden name Excel keeps beside every autofilter (openpyxl reads it and leaves it out).
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = ET.fromstring(archive.read("xl/workbook.xml")).find(f"{MAIN}definedNames")
        self.assertEqual(
            [(name.get("name"), name.get("localSheetId"), name.text) for name in names],
            [("_xlnm._FilterDatabase", "0", "'FSMA 204'!$A$1:$C$3")],
        )

    def test_the_package_has_the_minimal_parts_each_well_formed(self):
        content = xlsx.workbook("Sheet", HEADER, [["a", "b", "c"]])
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            self.assertEqual(
                archive.namelist(),
                ["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                 "xl/styles.xml", "xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"],
            )  # fmt: skip
            self.assertIsNone(archive.testzip())
            for name in archive.namelist():
                ET.fromstring(archive.read(name))  # raises on malformed XML
            shared = ET.fromstring(archive.read("xl/sharedStrings.xml"))
        self.assertEqual((shared.get("count"), shared.get("uniqueCount")), ("6", "6"))
        self.assertEqual(xlsx.workbook("Sheet", HEADER, [["a", "b", "c"]]), content)  # same rows, same bytes

    def test_markup_chinese_and_control_characters_round_trip_as_excel_escapes_them(self):
        values = ["<A&B> 王家果园", "tab\there, line\nbreak", "bell\x07 and cr\r", "literal _x0041_", "  padded "]
        content = xlsx.workbook("Sheet", ["Value"], [[value] for value in values])
        stored = stored_strings(content)
        self.assertEqual(
            stored,
            ["Value", "<A&B> 王家果园", "tab\there, line\nbreak", "bell_x0007_ and cr_x000D_", "literal _x005F_x0041_",
             "  padded "],
        )  # fmt: skip
        self.assertEqual([excel_unescape(text) for text in stored[1:]], values)
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            raw = archive.read("xl/sharedStrings.xml").decode()
        self.assertIn("<t>&lt;A&amp;B&gt; 王家果园</t>", raw)
        self.assertIn('<t xml:space="preserve">  padded </t>', raw)
        sheet = load_workbook(io.BytesIO(content)).active
        self.assertEqual(sheet["A2"].value, "<A&B> 王家果园")

    def test_a_sheet_without_rows_filters_its_header_and_a_long_text_is_cut_at_excels_limit(self):
        sheet = load_workbook(io.BytesIO(xlsx.workbook("Sheet", HEADER, []))).active
        self.assertEqual(list(sheet.iter_rows(values_only=True)), [("Lot", "Note", "Quantity")])
        self.assertEqual(sheet.auto_filter.ref, "A1:C1")
        long = "x" * 40000
        sheet = load_workbook(io.BytesIO(xlsx.workbook("Sheet", ["Value"], [[long]]))).active
        self.assertEqual(sheet["A2"].value, "x" * 32767)

    def test_a_row_of_the_wrong_width_is_refused(self):
        with self.assertRaises(ValueError):
            xlsx.workbook("Sheet", HEADER, [["only", "two"]])

    def test_column_names_run_from_a_to_z_then_aa(self):
        self.assertEqual([xlsx.column_name(i) for i in (0, 19, 25, 26, 701, 702)], ["A", "T", "Z", "AA", "ZZ", "AAA"])
