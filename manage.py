#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # A shell with no SECRET_KEY is a developer's: manage.py then runs in development mode unless
    # DEBUG says otherwise. Production sets SECRET_KEY, and the server (config/wsgi.py) never does this.
    if not os.environ.get("SECRET_KEY"):
        os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    from config.startup import SettingError, exit_with

    try:
        execute_from_command_line(sys.argv)
    except SettingError as error:
        exit_with(error)


if __name__ == "__main__":
    main()
