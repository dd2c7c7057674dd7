import os

from django.core.wsgi import get_wsgi_application

from config.startup import SettingError, exit_with

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
try:
    application = get_wsgi_application()
except SettingError as error:
    exit_with(error)
