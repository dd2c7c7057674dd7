"""Start-up errors an operator can act on: one line, no traceback, a non-zero exit.

config/settings.py raises SettingError for a missing or malformed environment value; manage.py
and config/wsgi.py (gunicorn) catch it, print `Configuration error: <message>` on stderr and
exit with EXIT_CODE. Under gunicorn a worker exiting with 4 is "App failed to load": the
master stops instead of restarting workers forever.
"""

import sys

from django.core.exceptions import ImproperlyConfigured

EXIT_CODE = 4


class SettingError(ImproperlyConfigured):
    """A bad or missing environment value; the message says how to fix it."""


def exit_with(error: SettingError) -> None:
    sys.stderr.write(f"Configuration error: {error}\n")
    sys.stderr.flush()
    raise SystemExit(EXIT_CODE)
