"""Import many batches at once from a CSV or Excel sheet: every row or none.

The sheet has a header row; columns are recognised by English or Chinese names (see COLUMNS).
CSV files may be UTF-8 (with or without the BOM Excel writes) or GB18030 (what Chinese Excel
and WPS save by default); .xlsx files are read with openpyxl.
"""

import csv
import hashlib
import io
import itertools
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from farms.models import Crop, Farm, Village
from traceability import lifecycle
from traceability.lot_codes import RESERVED_MESSAGE, is_lot_code, is_reserved
from traceability.models import Batch, BatchImport, Unit
from traceability.services import lot_code_prefix, next_lot_number, record_registrations

MAX_ROWS = 5000
# An import of MAX_ROWS rows is well under 1 MB as CSV or .xlsx; the caps keep a hostile file
# from holding a worker: the upload's size, what an .xlsx unpacks to (a zip bomb of a few
# hundred kB unpacks to gigabytes of XML), and any one cell.
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_UNPACKED_BYTES = 20 * 1024 * 1024
MAX_CELL_CHARS = 200
MAX_COLUMNS = 50
# Let the csv module read a long cell so that it becomes a row error (the default limit, 128 kB,
# raises for the whole file); no cell can be longer than the file.
csv.field_size_limit(max(csv.field_size_limit(), MAX_FILE_BYTES))

# canonical name -> header spellings accepted (compared lower-cased, spaces stripped)
COLUMNS = {
    "farm": ("farm", "农场", "农户", "果园"),
    "field": ("field", "地块", "田块"),
    "crop": ("crop", "作物", "品种代码", "作物代码"),
    "quantity": ("quantity", "数量"),
    "unit": ("unit", "单位"),
    "planted_on": ("planted_on", "plantedon", "planted", "种植日期", "播种日期"),
    "harvested_on": ("harvested_on", "harvestedon", "harvested", "采收日期", "收获日期"),
    "lot_code": ("lot_code", "lotcode", "lot", "批次号", "批号"),
}
REQUIRED = ("farm", "crop", "quantity")
UNIT_WORDS = {"公斤": "kg", "千克": "kg", "箱": "box", "筐": "crate", "个": "piece", "件": "piece"}


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong type, no header, missing columns)."""


@dataclass
class RowError:
    row: int  # the row number a spreadsheet shows (the header is row 1)
    message: str


@dataclass
class ImportResult:
    batches: list[Batch] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def decode_csv(raw: bytes) -> str:
    """UTF-8 (a leading BOM is dropped) or, failing that, GB18030, a superset of GBK and GB2312."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        raise ImportFileError(_("The file is neither UTF-8 nor GB18030 text: save it as CSV or Excel (.xlsx)."))


def read_capped(file) -> bytes:
    """The upload's bytes; ImportFileError when it is over MAX_FILE_BYTES (not read further)."""
    raw = file.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise ImportFileError(
            _("The file is larger than %(mb)s MB: import at most %(rows)s rows at a time.")
            % {"mb": MAX_FILE_BYTES // (1024 * 1024), "rows": MAX_ROWS}
        )
    return raw


def read_rows(file, raw: bytes | None = None) -> list[list]:
    """The sheet's rows (header first) as lists of cell values, from a CSV or .xlsx upload: at
    most MAX_ROWS data rows and a few more, so that a longer sheet is refused without being read
    to its end."""
    raw = read_capped(file) if raw is None else raw
    name = (getattr(file, "name", "") or "").lower()
    if raw[:4] == b"PK\x03\x04" or name.endswith(".xlsx"):
        return _xlsx_rows(raw)
    text = decode_csv(raw)
    try:
        dialect = csv.Sniffer().sniff(text[:2048], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)]


def _xlsx_rows(raw: bytes) -> list[list]:
    import zipfile

    import openpyxl

    try:
        unpacked = sum(item.file_size for item in zipfile.ZipFile(io.BytesIO(raw)).infolist())
    except (zipfile.BadZipFile, ValueError):
        raise ImportFileError(_("The Excel file could not be opened: save it again as .xlsx."))
    if unpacked > MAX_UNPACKED_BYTES:
        raise ImportFileError(_("The Excel file is too large once unpacked: import fewer rows at a time."))
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception:
        raise ImportFileError(_("The Excel file could not be opened: save it again as .xlsx."))
    try:
        # Read lazily (read-only mode streams the sheet): the header, MAX_ROWS rows and a few
        # blank ones, plus one more to tell that there are too many.
        rows = workbook.worksheets[0].iter_rows(values_only=True, max_col=MAX_COLUMNS)
        return [list(row) for row in itertools.islice(rows, MAX_ROWS + 100)]
    finally:
        workbook.close()


def _header_map(header: list) -> dict[str, int]:
    spellings = {spelling.replace(" ", "").lower(): name for name, options in COLUMNS.items() for spelling in options}
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        key = str(cell or "").strip().replace(" ", "").lower()
        if key in spellings and spellings[key] not in found:
            found[spellings[key]] = index
    missing = [name for name in REQUIRED if name not in found]
    if missing:
        raise ImportFileError(_("The header row lacks the column(s): %(columns)s.") % {"columns": ", ".join(missing)})
    return found


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-")
    for pattern in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(_("“%(value)s” is not a date: write it as 2026-06-12.") % {"value": _text(value)})


def _already_imported(village: Village, sha256: str) -> None:
    earlier = BatchImport.objects.filter(village=village, sha256=sha256).order_by("-imported_at").first()
    if earlier is not None:
        raise ImportFileError(
            _(
                "This file was already imported into this village on %(when)s (%(rows)s rows): importing it "
                "again would register the same batches twice. If it really holds new data, confirm that it is "
                "new data and import it again."
            )
            % {"when": formats.date_format(timezone.localtime(earlier.imported_at), "Y-m-d H:i"), "rows": earlier.rows}
        )


@transaction.atomic
def import_batches(*, village: Village, file, actor, new_data: bool = False) -> ImportResult:
    """Register one batch per data row of `file` in `village`, or none when any row is wrong.

    Side effects: when every row is valid, locks the village row (as register_batch does, so
    lot numbers cannot clash with a farmer registering at the same moment, and so two uploads of
    one file at once are seen), refuses a file whose SHA-256 was imported into the village before
    unless `new_data` says it holds new data, inserts all batches with one bulk insert, assigning
    lot codes where the sheet gives none (lifecycle.lot_code_day: the harvest date, else today),
    records their registration events (services.record_registrations) and the file's hash
    (BatchImport). Dates are checked by the rule of every door
    (lifecycle.check_lot_dates). When any row is wrong, writes nothing and returns every row's
    errors. Raises ImportFileError when the file itself cannot be read or was imported before.
    """
    raw = read_capped(file)
    sha256 = hashlib.sha256(raw).hexdigest()
    if not new_data:
        _already_imported(village, sha256)
    rows = read_rows(file, raw)
    while rows and not any(_text(cell) for cell in rows[-1]):
        rows.pop()
    if not rows:
        raise ImportFileError(_("The file is empty."))
    columns = _header_map(rows[0])
    data_rows = [(number, row) for number, row in enumerate(rows[1:], start=2) if any(_text(c) for c in row)]
    if len(data_rows) > MAX_ROWS:
        raise ImportFileError(_("At most %(max)s rows can be imported at once.") % {"max": MAX_ROWS})

    farms = {farm.name_zh: farm for farm in Farm.objects.filter(village=village).prefetch_related("fields")}
    farms.update({farm.name_en: farm for farm in farms.values() if farm.name_en})
    crops = {}
    for crop in Crop.objects.all():
        crops[crop.code.upper()] = crop
        crops[crop.name_zh] = crop
        if crop.name_en:
            crops[crop.name_en.lower()] = crop
    units = {value: value for value in Unit.values} | UNIT_WORDS
    given_codes = [_text(row[columns["lot_code"]]) for _, row in data_rows if "lot_code" in columns]
    taken_codes = set(
        Batch.objects.filter(lot_code__in=[c for c in given_codes if c]).values_list("lot_code", flat=True)
    )

    result = ImportResult(rows=len(data_rows))
    planned = []
    seen_codes: set[str] = set()
    for number, row in data_rows:

        def cell(name: str, row=row) -> str:
            index = columns.get(name)
            return _text(row[index]) if index is not None and index < len(row) else ""

        def raw(name: str, row=row):
            index = columns.get(name)
            return row[index] if index is not None and index < len(row) else None

        if any(len(_text(value)) > MAX_CELL_CHARS for value in row):
            result.errors.append(
                RowError(number, _("a cell is longer than %(max)s characters") % {"max": MAX_CELL_CHARS})
            )
            continue
        problems = []
        farm = farms.get(cell("farm"))
        if farm is None:
            problems.append(_("farm “%(name)s” is not in this village") % {"name": cell("farm")})
        field_obj = None
        if cell("field") and farm is not None:
            field_obj = next((f for f in farm.fields.all() if cell("field") in (f.name_zh, f.name_en)), None)
            if field_obj is None:
                problems.append(
                    _("farm %(farm)s has no field “%(name)s”") % {"farm": farm.name_zh, "name": cell("field")}
                )
        crop_key = cell("crop")
        crop = crops.get(crop_key.upper()) or crops.get(crop_key) or crops.get(crop_key.lower())
        if crop is None:
            problems.append(_("crop “%(name)s” is unknown") % {"name": crop_key})
        try:
            quantity = Decimal(cell("quantity").replace(",", ""))
            if not quantity.is_finite() or quantity <= 0:
                raise InvalidOperation
            if quantity != quantity.quantize(Decimal("0.001")) or quantity >= Decimal("1e9"):
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            quantity = None
            problems.append(_("quantity “%(value)s” is not a positive number") % {"value": cell("quantity")})
        unit = units.get(cell("unit").lower() or "kg")
        if unit is None:
            problems.append(
                _("unit “%(value)s” is not one of %(units)s") % {"value": cell("unit"), "units": ", ".join(Unit.values)}
            )
        dates = {}
        for name in ("planted_on", "harvested_on"):
            try:
                dates[name] = _date(raw(name))
            except ValueError as exc:
                dates[name] = None
                problems.append(str(exc))
        try:
            lifecycle.check_lot_dates(dates["planted_on"], dates["harvested_on"])
        except ValidationError as exc:
            problems.extend(exc.messages)
        lot_code = cell("lot_code")
        if lot_code:
            if not is_lot_code(lot_code):
                problems.append(_("lot code “%(code)s” may only use letters, digits and . _ -") % {"code": lot_code})
            elif is_reserved(lot_code):
                problems.append(RESERVED_MESSAGE % {"code": lot_code})
            elif lot_code in taken_codes or lot_code in seen_codes:
                problems.append(_("lot code %(code)s is already used") % {"code": lot_code})
            seen_codes.add(lot_code)
        if problems:
            result.errors.extend(RowError(number, problem) for problem in problems)
            continue
        planned.append((farm, field_obj, crop, quantity, unit, dates, lot_code))

    if result.errors:
        return result

    Village.objects.select_for_update().only("id").get(pk=village.pk)
    if not new_data:
        _already_imported(village, sha256)  # again under the lock: the same file sent twice at once
    next_number: dict[str, int] = {}
    now = timezone.now()
    batches = []
    for farm, field_obj, crop, quantity, unit, dates, lot_code in planned:
        if not lot_code:
            day = lifecycle.lot_code_day(harvested_on=dates["harvested_on"])
            prefix = lot_code_prefix(village=village, crop=crop, day=day)
            if prefix not in next_number:
                next_number[prefix] = next_lot_number(prefix, also_taken=seen_codes)
            lot_code = f"{prefix}{next_number[prefix]:03d}"
            next_number[prefix] += 1
        batches.append(
            Batch(
                lot_code=lot_code,
                farm=farm,
                field=field_obj,
                crop=crop,
                quantity=quantity,
                unit=unit,
                planted_on=dates["planted_on"],
                harvested_on=dates["harvested_on"],
                status=lifecycle.initial_status(harvested_on=dates["harvested_on"]),
                created_by=actor,
                created_at=now,
                imported_at=now,
            )
        )
    result.batches = Batch.objects.bulk_create(batches)
    record_registrations(batches=result.batches, actor=actor)
    BatchImport.objects.create(
        village=village,
        sha256=sha256,
        file_name=(getattr(file, "name", "") or "")[:255],
        rows=len(batches),
        imported_by=actor,
        imported_at=now,
    )
    return result
