"""A one-sheet Excel workbook of text cells: header and rows in, .xlsx bytes out. Knows nothing of
requests or models.

Written by hand because the libraries spend their time per cell: for the FSMA export of a lot
with 10,000 descendants (16,114 rows, 197,000 non-empty cells) XlsxWriter took 1.2 s and
PyExcelerate 1.3 s to write the workbook, this module 0.17 s (docs/performance.md, "Traces").
It writes only what that sheet needs, in the parts every spreadsheet program reads (ECMA-376
SpreadsheetML): [Content_Types].xml, the relationships, the workbook, a one-style stylesheet,
the sheet and its shared-strings table (each distinct text escaped once; the sheet refers to it
by number).

- Text is a shared-string cell (t="s"), so lot codes and document numbers never turn into
  numbers or dates; an empty string or None leaves its cell empty. A `Decimal` or `int` is a
  number cell, a `datetime.date` a date cell (its serial day number, shown as yyyy-mm-dd): the
  caller decides which values are typed.
- The header row is frozen and the autofilter covers the header and every row.
- Escaping is Excel's own: & < > as XML entities; the control characters XML 1.0 forbids (and
  carriage return, which XML parsers would turn into a line feed) as _xHHHH_, with a literal
  "_xHHHH_" in the text protected as "_x005F_xHHHH_" so that it reads back unchanged. Text longer
  than Excel's 32,767-character cell limit is cut there, as XlsxWriter did (the CSV keeps it whole).
- zlib level 1: for the sheet above, 80 ms faster than the default level 6 for a file 22%
  larger (1.5 instead of 1.25 MB).
"""

import io
import re
import zipfile
from datetime import date
from decimal import Decimal

MAX_CELL_LENGTH = 32767
COMPRESS_LEVEL = 1

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

_CONTENT_TYPES = f"""{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>\
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_TYPE}.worksheet+xml"/>\
<Override PartName="/xl/styles.xml" ContentType="{_TYPE}.styles+xml"/>\
<Override PartName="/xl/sharedStrings.xml" ContentType="{_TYPE}.sharedStrings+xml"/></Types>"""

_ROOT_RELS = f"""{_HEAD}<Relationships xmlns="{_PACKAGE_REL}">\
<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>"""

_WORKBOOK_RELS = f"""{_HEAD}<Relationships xmlns="{_PACKAGE_REL}">\
<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>\
<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>\
<Relationship Id="rId3" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>"""

_STYLES = f"""{_HEAD}<styleSheet xmlns="{_MAIN}">\
<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/></numFmts>\
<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>\
<fills count="2"><fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""

# What needs escaping at all (checked once per distinct string), then the Excel escapes.
_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")
_EXCEL_ESCAPED = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)|[\x00-\x08\x0b-\x1f\ufffe\uffff]")


def _excel_escape(match: re.Match) -> str:
    return "_x005F_" if match[0] == "_" else f"_x{ord(match[0]):04X}_"


def escape(text: str) -> str:
    """Cell text as the content of a <t> element, the way Excel writes it (see the module doc)."""
    text = text[:MAX_CELL_LENGTH]
    if not _SPECIAL.search(text):
        return text
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _EXCEL_ESCAPED.sub(_excel_escape, text)


def column_name(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _shared_string(text: str) -> str:
    escaped = escape(text)
    space = ' xml:space="preserve"' if escaped != escaped.strip() else ""
    return f"<si><t{space}>{escaped}</t></si>"


_EPOCH = date(1899, 12, 30)  # day 0 of Excel's 1900 date system (as it counts, after 1900-03-01)


def workbook(title: str, header: list[str], rows: list[list]) -> bytes:
    """An .xlsx file with one sheet named `title` (a valid Excel sheet name: at most 31
    characters, none of []:*?/\\): the header row, frozen and filterable, then the rows, each
    with as many values as the header."""
    columns = [column_name(i) for i in range(len(header))]
    last = f"{columns[-1]}{len(rows) + 1}"
    strings: dict[str, int] = {}
    count = 0
    sheet_rows = []
    for number, row in enumerate([header, *rows], start=1):
        cells = []
        for column, value in zip(columns, row, strict=True):
            if value.__class__ is str:
                if value:
                    index = strings.get(value)
                    if index is None:
                        index = strings[value] = len(strings)
                    cells.append(f'<c r="{column}{number}" t="s"><v>{index}</v></c>')
            elif value is None:
                continue
            elif isinstance(value, date):
                cells.append(f'<c r="{column}{number}" s="1"><v>{(value - _EPOCH).days}</v></c>')
            elif isinstance(value, (Decimal, int)) and not isinstance(value, bool):
                number_text = format(value.normalize() if isinstance(value, Decimal) else value, "f")
                cells.append(f'<c r="{column}{number}"><v>{number_text}</v></c>')
            else:
                raise TypeError(f"cannot write a {type(value).__name__} cell")
        count += len(cells)
        sheet_rows.append(f'<row r="{number}">{"".join(cells)}</row>')
    sheet = (
        f'{_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}"><dimension ref="A1:{last}"/>'
        '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><sheetData>{"".join(sheet_rows)}</sheetData>'
        f'<autoFilter ref="A1:{last}"/></worksheet>'
    )
    shared = (
        f'{_HEAD}<sst xmlns="{_MAIN}" count="{count}" uniqueCount="{len(strings)}">'
        f"{''.join(map(_shared_string, strings))}</sst>"
    )
    name = escape(title).replace('"', "&quot;")
    reference = "'" + name.replace("'", "''") + "'"
    book = (
        f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets><sheet name="{name}" sheetId="1" r:id="rId1"/>'
        '</sheets><definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
        f"{reference}!$A$1:${columns[-1]}${len(rows) + 1}</definedName></definedNames></workbook>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, text in [
            ("[Content_Types].xml", _CONTENT_TYPES),
            ("_rels/.rels", _ROOT_RELS),
            ("xl/workbook.xml", book),
            ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
            ("xl/styles.xml", _STYLES),
            ("xl/worksheets/sheet1.xml", sheet),
            ("xl/sharedStrings.xml", shared),
        ]:
            # A fixed date: the same rows give the same bytes.
            member = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, text.encode(), compresslevel=COMPRESS_LEVEL)
    return buffer.getvalue()
