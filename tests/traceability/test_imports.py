"""The coordinator's batch import: every row or none, per-row errors, the encodings Chinese sheets use."""

import io
from datetime import date
from decimal import Decimal

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from tests.support import in_english, make_batch, make_crop, make_farm, make_field, make_user, make_village
from traceability.imports import ImportFileError, import_batches
from traceability.models import Batch

HEADER_ZH = "农场,地块,作物,数量,单位,种植日期,采收日期\n"
ROWS = "王家果园,东坡地,WAX,120,kg,2026-03-01,2026-06-12\n王家果园,,杨梅,30.5,箱,,2026-06-12\n"


def upload(text: str, encoding: str = "utf-8", name: str = "batches.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


class ImportServiceTests(TestCase):
    def setUp(self):
        in_english(self)
        self.village = make_village("XJ")
        self.farm = make_farm(self.village)
        self.field = make_field(self.farm)
        self.crop = make_crop("WAX")
        self.alice = make_user("alice", role="coordinator", village=self.village)

    def imported(self) -> list[tuple]:
        return list(
            Batch.objects.order_by("lot_code").values_list("lot_code", "field__name_zh", "quantity", "unit", "status")
        )

    def test_it_imports_every_row_with_lot_codes_in_sequence(self):
        result = import_batches(village=self.village, file=upload(HEADER_ZH + ROWS), actor=self.alice)
        self.assertEqual((result.ok, result.rows, len(result.batches)), (True, 2, 2))
        self.assertEqual(
            self.imported(),
            [
                ("XJ-WAX-20260612-001", "东坡地", Decimal("120.000"), "kg", "harvested"),
                ("XJ-WAX-20260612-002", None, Decimal("30.500"), "box", "harvested"),
            ],
        )
        self.assertEqual(Batch.objects.get(lot_code="XJ-WAX-20260612-001").planted_on, date(2026, 3, 1))
        self.assertEqual(set(Batch.objects.values_list("created_by__username", flat=True)), {"alice"})

    def test_one_bad_row_imports_nothing_and_every_problem_is_reported_by_row(self):
        text = HEADER_ZH + ROWS + "李家果园,,WAX,10,kg,,2026-06-12\n王家果园,北坡,WAX,-3,斤,2026-07-01,2026-06-12\n"
        result = import_batches(village=self.village, file=upload(text), actor=self.alice)
        self.assertFalse(result.ok)
        self.assertEqual(Batch.objects.count(), 0)
        self.assertEqual(
            [(error.row, error.message) for error in result.errors],
            [
                (4, "farm “李家果园” is not in this village"),
                (5, "farm 王家果园 has no field “北坡”"),
                (5, "quantity “-3” is not a positive number"),
                (5, "unit “斤” is not one of kg, box, crate, piece"),
                (5, "The harvest date cannot be before the planting date."),  # the form's rule and words
            ],
        )

    def test_it_reads_utf8_with_a_byte_order_mark(self):
        result = import_batches(village=self.village, file=upload(HEADER_ZH + ROWS, "utf-8-sig"), actor=self.alice)
        self.assertTrue(result.ok)
        self.assertEqual([row[0] for row in self.imported()], ["XJ-WAX-20260612-001", "XJ-WAX-20260612-002"])

    def test_it_reads_gb18030(self):
        result = import_batches(village=self.village, file=upload(HEADER_ZH + ROWS, "gb18030"), actor=self.alice)
        self.assertTrue(result.ok)
        self.assertEqual([row[1] for row in self.imported()], ["东坡地", None])

    def test_it_reads_an_excel_sheet_with_english_headers_and_date_cells(self):
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(["Farm", "Field", "Crop", "Quantity", "Unit", "Harvested on", "Lot code"])
        sheet.append(["Wang Family Orchard", "东坡地", "Waxberry", 12, "crate", date(2026, 6, 12), "XJ-OWN-1"])
        buffer = io.BytesIO()
        workbook.save(buffer)
        file = SimpleUploadedFile("batches.xlsx", buffer.getvalue())
        result = import_batches(village=self.village, file=file, actor=self.alice)
        self.assertTrue(result.ok, result.errors)
        self.assertEqual(self.imported(), [("XJ-OWN-1", "东坡地", Decimal("12.000"), "crate", "harvested")])

    def test_a_lot_code_already_used_is_a_row_error(self):
        make_batch(self.farm, self.crop, "XJ-OWN-1")
        text = (
            "farm,crop,quantity,lot_code\n王家果园,WAX,5,XJ-OWN-1\n王家果园,WAX,5,XJ-OWN-2\n王家果园,WAX,5,XJ-OWN-2\n"
        )
        result = import_batches(village=self.village, file=upload(text), actor=self.alice)
        self.assertEqual(
            [(error.row, error.message) for error in result.errors],
            [(2, "lot code XJ-OWN-1 is already used"), (4, "lot code XJ-OWN-2 is already used")],
        )
        self.assertEqual(Batch.objects.count(), 1)

    def test_a_file_without_the_required_columns_is_refused_whole(self):
        with self.assertRaisesMessage(ImportFileError, "The header row lacks the column(s): crop, quantity."):
            import_batches(village=self.village, file=upload("farm,field\n王家果园,东坡地\n"), actor=self.alice)

    def test_farms_of_another_village_are_not_found(self):
        other = make_village("SG", name_zh="寻乌县脐橙村")
        make_farm(other, name_zh="赖家果园")
        result = import_batches(village=self.village, file=upload("农场,作物,数量\n赖家果园,WAX,3\n"), actor=self.alice)
        self.assertEqual([(e.row, e.message) for e in result.errors], [(2, "farm “赖家果园” is not in this village")])


class ImportPageTests(TestCase):
    def setUp(self):
        in_english(self)
        self.village = make_village("XJ")
        make_farm(self.village)
        make_crop("WAX")
        self.coordinator = make_user("alice", role="coordinator", village=self.village)

    def test_the_page_lists_row_errors_and_saves_nothing(self):
        self.client.force_login(self.coordinator)
        response = self.client.post(
            "/batches/import/",
            {"village": self.village.pk, "file": upload("农场,作物,数量\n王家果园,WAX,1\n王家果园,XYZ,2\n", "gb18030")},
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(Batch.objects.count(), 0)
        self.assertEqual(
            [(e.row, e.message) for e in response.context["result"].errors], [(3, "crop “XYZ” is unknown")]
        )
        self.assertIn("crop “XYZ” is unknown", response.content.decode())

    def test_the_page_imports_a_good_file(self):
        self.client.force_login(self.coordinator)
        response = self.client.post(
            "/batches/import/",
            {"village": self.village.pk, "file": upload("农场,作物,数量,采收日期\n王家果园,WAX,1,2026/6/12\n")},
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(list(Batch.objects.values_list("lot_code", flat=True)), ["XJ-WAX-20260612-001"])

    def test_farmers_and_other_villages_coordinators_cannot_import_into_the_village(self):
        farmer = make_user("bob", role="farmer", village=self.village)
        self.client.force_login(farmer)
        self.assertEqual(self.client.get("/batches/import/").status_code, 404)
        other = make_village("SG", name_zh="寻乌县脐橙村")
        outsider = make_user("carol", role="coordinator", village=other)
        self.client.force_login(outsider)
        response = self.client.post(
            "/batches/import/", {"village": self.village.pk, "file": upload("农场,作物,数量\n王家果园,WAX,1\n")}
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("village", response.context["form"].errors)
        self.assertEqual(Batch.objects.count(), 0)


class ImportSampleTests(TestCase):
    def test_the_sample_file_imports_as_it_is(self):
        village = make_village("XJ")
        make_field(make_farm(village))
        make_crop("WAX")
        coordinator = make_user("alice", role="coordinator", village=village)
        self.client.force_login(coordinator)
        response = self.client.get("/batches/import/sample.csv")
        self.assertEqual(response.content[:3], b"\xef\xbb\xbf")
        result = import_batches(village=village, file=SimpleUploadedFile("s.csv", response.content), actor=coordinator)
        self.assertEqual((result.ok, [b.field.name_zh for b in result.batches]), (True, ["东坡地"]))

    def test_farmers_get_no_sample(self):
        village = make_village("XJ")
        self.client.force_login(make_user("bob", role="farmer", village=village))
        self.assertEqual(self.client.get("/batches/import/sample.csv").status_code, 404)


class HostileFileTests(TestCase):
    """A 200 kB cell, a zip bomb, a file over the size cap: a clear refusal, nothing imported."""

    def setUp(self):
        in_english(self)
        self.village = make_village("XJ")
        make_farm(self.village)
        make_crop("WAX")
        self.alice = make_user("alice", role="coordinator", village=self.village)

    def test_a_cell_of_200_kb_is_a_row_error(self):
        text = HEADER_ZH + "王家果园,,WAX,1,kg,,2026-06-12\n" + "王家果园," + "x" * 200_000 + ",WAX,1,kg,,2026-06-12\n"
        result = import_batches(village=self.village, file=upload(text), actor=self.alice)
        self.assertEqual([(e.row, e.message) for e in result.errors], [(3, "a cell is longer than 200 characters")])
        self.assertEqual(Batch.objects.count(), 0)

    def test_a_zip_bomb_is_refused_before_it_is_unpacked(self):
        import zipfile

        book = openpyxl.Workbook()
        book.active.append(["farm", "crop", "quantity"])
        plain = io.BytesIO()
        book.save(plain)
        rows = "<row><c><v>1</v></c></row>" * 1_500_000  # 39 MB of XML, about 40 kB zipped
        sheet = (
            '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
            f'spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>'
        )
        bomb = io.BytesIO()
        with zipfile.ZipFile(plain) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
            for item in source.infolist():
                body = sheet.encode() if item.filename == "xl/worksheets/sheet1.xml" else source.read(item)
                target.writestr(item.filename, body, compresslevel=9)
        self.assertLess(len(bomb.getvalue()), 400_000)
        upload_ = SimpleUploadedFile("bomb.xlsx", bomb.getvalue())
        with self.assertRaisesMessage(ImportFileError, "too large once unpacked"):
            import_batches(village=self.village, file=upload_, actor=self.alice)
        self.assertEqual(Batch.objects.count(), 0)

    def test_an_excel_sheet_with_more_rows_than_allowed_is_refused(self):
        from traceability.imports import MAX_ROWS

        book = openpyxl.Workbook()
        book.active.append(["farm", "crop", "quantity"])
        for _ in range(MAX_ROWS + 1):
            book.active.append(["王家果园", "WAX", 1])
        data = io.BytesIO()
        book.save(data)
        with self.assertRaisesMessage(ImportFileError, f"At most {MAX_ROWS} rows"):
            import_batches(
                village=self.village, file=SimpleUploadedFile("many.xlsx", data.getvalue()), actor=self.alice
            )

    def test_a_file_over_the_size_cap_is_refused_on_the_page(self):
        from traceability.imports import MAX_FILE_BYTES

        self.client.force_login(self.alice)
        big = upload(HEADER_ZH + "王家果园,,WAX,1,kg,,2026-06-12\n" * (MAX_FILE_BYTES // 30))
        response = self.client.post("/batches/import/", {"village": self.village.pk, "file": big})
        self.assertContains(response, "The file is larger than 2 MB")
        self.assertEqual(Batch.objects.count(), 0)
