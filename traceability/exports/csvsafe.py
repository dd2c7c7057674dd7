"""CSV cells that a spreadsheet will not run as formulas (OWASP, "CSV Injection").

A text cell beginning with = + - @, a tab or a carriage return gets a leading apostrophe, which
Excel, WPS and LibreOffice show as text. Plain numbers ("-3.5") are left alone: no formula is a
bare number. Only CSV needs this: the .xlsx exports write typed text cells, never formulas.
"""

import csv
import re

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def neutralise(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class _Writer:
    def __init__(self, buffer, **options):
        self._writer = csv.writer(buffer, **options)

    def writerow(self, row):
        # neutralise() inlined: a large export writes a million cells.
        return self._writer.writerow(
            [
                "'" + value
                if value.__class__ is str and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value)
                else value
                for value in row
            ]
        )

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def writer(buffer, **options) -> _Writer:
    """csv.writer, with every cell neutralised."""
    return _Writer(buffer, **options)
