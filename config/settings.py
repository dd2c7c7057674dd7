"""One settings file, read from the environment.

Every helper below fails loudly with SettingError and says how to fix the value, so a typo in
a deployment stops start-up (one line, config/startup.py) instead of running with a surprise
default.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

from config.startup import SettingError

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingError(f"{name}={raw!r} is not a boolean: set it to one of 1/0, true/false, yes/no, on/off.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingError(f"{name}={raw!r} is not an integer: set it to a whole number such as {default}.")
    if value < minimum:
        raise SettingError(f"{name}={value} is too small: it must be at least {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, default: str, *, schemes: tuple[str, ...]) -> str:
    raw = os.environ.get(name, default).strip()
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        raise SettingError(
            f"{name}={raw!r} is not a valid URL: it must start with one of {', '.join(s + '://' for s in schemes)}."
        )
    return raw


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise SettingError(
            "SECRET_KEY is not set. Set SECRET_KEY to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or set DEBUG=1 for development."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise SettingError("ALLOWED_HOSTS is empty. Set ALLOWED_HOSTS to a comma-separated list of host names.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# What printed QR codes point to. No trailing slash; the scheme and host are case-insensitive,
# so the QR can be encoded in uppercase alphanumeric mode. Required in production: a default
# would print QR codes that lead nowhere.
if not DEBUG and not os.environ.get("PUBLIC_BASE_URL", "").strip():
    raise SettingError(
        "PUBLIC_BASE_URL is not set: every QR code printed would lead nowhere. "
        "Set it to the short public address of the site, e.g. https://trace.example.cn"
    )
PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", "http://127.0.0.1:8000", schemes=("http", "https")).rstrip("/")
if urlsplit(PUBLIC_BASE_URL).path not in ("", "/"):
    raise SettingError(
        f"PUBLIC_BASE_URL={PUBLIC_BASE_URL!r} has a path: give only the scheme and host, e.g. https://trace.example.cn"
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "axes",
    "csp",
    "farms",
    "traceability",
    "shipments",
]

MIDDLEWARE = [
    "config.middleware.health_check",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.refuse_nul_bytes",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login refused for too many failures into the lockout answer (api.lockout).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
# Covering indexes (INCLUDE) are a PostgreSQL speed-up for traces; SQLite builds the same indexes
# without the extra columns, which is all the embedded default needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_default_db = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
_db_url = os.environ.get("DATABASE_URL", "").strip() or _default_db
try:
    # Persistent connections: a new connection per request serves about 6x fewer requests.
    DATABASES = {"default": dj_database_url.parse(_db_url, conn_max_age=60, conn_health_checks=True)}
except Exception as exc:  # dj-database-url raises several exception types
    raise SettingError(
        f"DATABASE_URL={_db_url!r} is not a database URL ({exc}). "
        "Use e.g. postgres://postgres@127.0.0.1:5432/trace or sqlite:////abs/path/db.sqlite3."
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    # SQLite keeps no persistent connections worth having and locks on long transactions.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SQLITE_TEST_NAME") or None}
elif os.environ.get("TEST_DATABASE_NAME"):
    # The database the test suite creates and drops (default test_<name>): two runs on one
    # server, or a server where test_<name> is taken, each name their own.
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    env_url("REDIS_URL", REDIS_URL, schemes=("redis", "rediss", "unix"))
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "trace"),
            # Without timeouts a Redis host that drops packets holds every request until the
            # kernel gives up (minutes); with them the consumer page falls back to the database
            # (shipments.public_cache, whose own Redis client takes these OPTIONS too). Redis
            # answers in well under a millisecond.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "trace",
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Password guessing is stopped on every door that calls authenticate() (the login page, the
# admin's, the API token endpoint): after LOGIN_FAILURE_LIMIT failures an account, and
# separately a client address, is locked for LOGIN_LOCKOUT_MINUTES (each further failure
# restarts the wait). A success before the limit starts the count again. Attempts are kept in
# the database (django-axes), so logins work while Redis is down. Locking by account lets anyone
# lock someone out for a while: the price of stopping guesses spread over many addresses.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "api.throttling.client_address"
AXES_LOCKOUT_CALLABLE = "api.lockout.locked_out"
AXES_VERBOSE = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
try:
    import zoneinfo

    zoneinfo.ZoneInfo(TIME_ZONE)
except Exception:
    raise SettingError(f"TIME_ZONE={TIME_ZONE!r} is not a known time zone: use e.g. Asia/Shanghai.")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
# In production `collectstatic` writes each file under a name carrying its hash, with gzip
# copies beside it; WhiteNoise serves those with a far-future, immutable Cache-Control. In
# development files are served as they are, straight from the apps (no collectstatic).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# How many reverse proxies (nginx, a load balancer) stand in front of the app: X-Forwarded-For is
# believed only that far (api.throttling.client_address, for rate limits and login lockouts).
# 0 trusts no forwarded header: the client is REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
# Off by default because TLS usually ends at the proxy; turn both on once the site is HTTPS-only
# (`manage.py check --deploy` reminds you). Load balancers' health checks stay on plain HTTP.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
# Only once every subdomain serves HTTPS; preloading asks browsers to hard-code HTTPS for the
# domain, which is slow to undo (hstspreload.org).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

# No page runs inline script or inline style, and nothing comes from another site (the consumer
# page runs no script at all): a stolen form field or a stored string cannot become code.
# Pages that cannot live with this say so where they are wired (the API's Redoc page).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Browser features no page uses are off; the farmers' pages may later ask for the camera and
# the location (photos of test reports, field coordinates), from this site only.
PERMISSIONS_POLICY = {
    "accelerometer": [],
    "autoplay": [],
    "camera": ["self"],
    "display-capture": [],
    "geolocation": ["self"],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "usb": [],
}

# The consumer page writes Scan rows in small batches (shipments.scans): at most this many
# rows, or rows this many seconds old, wait in a process. 1 writes every scan at once.
SCAN_BATCH_SIZE = env_int("SCAN_BATCH_SIZE", 20, minimum=1)
SCAN_FLUSH_SECONDS = env_int("SCAN_FLUSH_SECONDS", 1, minimum=0)

# How many digits of a GTIN or GLN are the GS1 company prefix, for the EPCIS identifiers that
# split them (urn:epc:class:lgtin:PREFIX.ITEM.LOT, sgln). GS1 China issues 7, 8 and 9 digit
# prefixes; GS1 allows 6 to 12.
GS1_COMPANY_PREFIX_LENGTH = env_int("GS1_COMPANY_PREFIX_LENGTH", 7, minimum=0)
if not 6 <= GS1_COMPANY_PREFIX_LENGTH <= 12:
    raise SettingError(
        f"GS1_COMPANY_PREFIX_LENGTH={GS1_COMPANY_PREFIX_LENGTH} is out of range: a GS1 company prefix "
        "has 6 to 12 digits; set the length of the prefix GS1 assigned you (7 by default)."
    )

# Anchors of the event chains (traceability.anchors, docs/deployment.md "Anchoring"). The private
# Ed25519 key never enters the database: only `manage.py anchor_chains` reads it, from the
# environment (base64 of its 32 raw bytes, or PEM) or from a file. Verification trusts the public
# key of that key and every key listed here (base64, comma-separated): keep retired keys listed so
# that older anchors still verify. Checked when used, with a message saying what to fix.
ANCHOR_SIGNING_KEY = os.environ.get("ANCHOR_SIGNING_KEY", "")
ANCHOR_SIGNING_KEY_FILE = os.environ.get("ANCHOR_SIGNING_KEY_FILE", "")
ANCHOR_PUBLIC_KEYS = env_list("ANCHOR_PUBLIC_KEYS", [])

REST_FRAMEWORK = {
    # Token first: an anonymous caller then gets 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "farms.api_permissions.AuditorsReadOnly",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "api.formats.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "api.formats.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.base.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    # Counted in the default cache (Redis when REDIS_URL is set, so every app server shares them),
    # in each process's memory while Redis is down (api.throttling).
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.AnonRateThrottle",
        "api.throttling.UserRateThrottle",
    ],
    # For any throttle keyed by DRF's own get_ident: X-Forwarded-For only from trusted proxies.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_THROTTLE_ANON", "60/minute"),
        "user": os.environ.get("API_THROTTLE_USER", "1200/minute"),
        "token": os.environ.get("API_THROTTLE_TOKEN", "20/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Farm-to-consumer traceability API",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "BatchStatusEnum": "traceability.models.BatchStatus",
        "ShipmentStatusEnum": "shipments.models.ShipmentStatus",
        "UnitEnum": "traceability.models.Unit",
        "EventKindEnum": "traceability.models.EventKind",
        "FarmEventKindEnum": "traceability.api.FARM_EVENT_KIND_CHOICES",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
