"""Settings for Loyalty Admin, all driven by environment variables (see .env.example).

A `.env` file beside manage.py (or the file ENV_FILE names) is read first; variables already
in the environment win. The test suite (LOYALTY_TESTING) ignores it, so a developer's file
never changes what tests see.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
if not os.environ.get("LOYALTY_TESTING"):
    load_dotenv(os.environ.get("ENV_FILE") or BASE_DIR / ".env", override=False)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "")
    if not value:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)
TESTING = env_bool("LOYALTY_TESTING", default=False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug-and-tests"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG or TESTING else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "django_tasks_db",
    "import_export",
    "axes",
    "core",
    "loyalty_admin",
    "customers",
    "ranks",
    "tags",
    "audiences",
    "wholesale",
    "cards",
    "migration",
    "console",
    "bench",
]
if os.environ.get("DATABASE_URL", "").startswith("postgres"):
    INSTALLED_APPS.insert(INSTALLED_APPS.index("django_filters"), "django.contrib.postgres")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "loyalty_admin.middleware.SessionRefreshMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "loyalty_admin.urls"
WSGI_APPLICATION = "loyalty_admin.wsgi.application"

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
                "django.template.context_processors.csp",
                "loyalty_admin.navigation.sidebar",
            ],
        },
    },
]

# An empty or unset DATABASE_URL means the embedded SQLite database.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend with a user's permissions and roles read in one query per request.
    "loyalty_admin.roles.RoleBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Staff login lockout: per username + IP address, with a cool-off.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

SESSION_COOKIE_AGE = int(os.environ.get("SESSION_TIMEOUT_SECONDS", str(8 * 3600)))
# The idle timeout slides (loyalty_admin.middleware.SessionRefreshMiddleware), refreshed at
# most once a minute instead of a session write per request.
SESSION_REFRESH_SECONDS = 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("vi", "Tiếng Việt")]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Ho_Chi_Minh")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules/bootstrap/dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules/bootstrap-icons/font"),
    ("vendor/htmx", BASE_DIR / "node_modules/htmx.org/dist"),
    ("vendor/chart.js", BASE_DIR / "node_modules/chart.js/dist"),
    ("vendor/tom-select", BASE_DIR / "node_modules/tom-select/dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "media/"

# One cache every web process and worker shares (a tag's count, the dashboard's figures):
# the database's by default (its table comes with `migrate`), or CACHE_BACKEND / CACHE_LOCATION.
CACHES = {
    "default": {
        "BACKEND": os.environ.get("CACHE_BACKEND", "django.core.cache.backends.db.DatabaseCache"),
        "LOCATION": os.environ.get("CACHE_LOCATION", "loyalty_cache"),
    }
}

TASKS = {
    "default": {
        "BACKEND": os.environ.get(
            "TASK_BACKEND",
            "django.tasks.backends.immediate.ImmediateBackend"
            if TESTING
            else "django_tasks_db.DatabaseBackend",
        ),
        "QUEUES": ["default"],
    }
}

_EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "core.mail.ReadableConsoleBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS = {
    "default": {
        "BACKEND": _EMAIL_BACKEND,
        "OPTIONS": (
            {
                "host": os.environ.get("EMAIL_HOST", "localhost"),
                "port": int(os.environ.get("EMAIL_PORT", "25")),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS"),
            }
            if _EMAIL_BACKEND.endswith("smtp.EmailBackend")
            else {}
        ),
    }
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Loyalty <no-reply@localhost>")
# The public address customers reach the password page at (links in emails use it).
# Money is shown with this symbol, after the amount ("1,234,000 ₫") unless CURRENCY_PREFIX.
CURRENCY_SYMBOL = os.environ.get("CURRENCY_SYMBOL", "₫")
CURRENCY_PREFIX = env_bool("CURRENCY_PREFIX")
# By default the address `make run` serves (HOST, PORT).
# Staff accounts set their password through an emailed link valid this many hours.
PASSWORD_RESET_TIMEOUT = int(os.environ.get("STAFF_PASSWORD_LINK_HOURS", "72")) * 3600
PUBLIC_BASE_URL = os.environ.get(
    "PUBLIC_BASE_URL",
    f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}",
).rstrip("/")

# Content Security Policy: same-origin only, no inline script or style.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and not TESTING:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)

# Domain settings.
PHONE_DEFAULT_REGION = os.environ.get("PHONE_DEFAULT_REGION", "VN")
EXPORT_SYNC_ROW_LIMIT = int(os.environ.get("EXPORT_SYNC_ROW_LIMIT", "5000"))
# An export of more rows than this is refused with its count (0: no limit).
EXPORT_MAX_ROWS = int(os.environ.get("EXPORT_MAX_ROWS", "1000000"))
# Where `manage.py ensure_demo_staff` keeps the demo logins it generated (outside git).
DEMO_LOGINS_FILE = Path(os.environ.get("DEMO_LOGINS_FILE", BASE_DIR / ".demo-logins"))
# Bulk actions on more customers than this run as background tasks instead of in the request.
BULK_SYNC_ROW_LIMIT = int(os.environ.get("BULK_SYNC_ROW_LIMIT", "20000"))
EXPORT_LINK_LIFETIME = timedelta(hours=int(os.environ.get("EXPORT_LINK_HOURS", "24")))
# The server folder scheduled exports write their files into (it must exist and be writable).
EXPORT_SCHEDULE_DIR = Path(os.environ.get("EXPORT_SCHEDULE_DIR", BASE_DIR / "scheduled-exports"))
PASSWORD_RESET_LINK_LIFETIME = timedelta(
    minutes=int(os.environ.get("PASSWORD_RESET_LINK_MINUTES", "30"))
)
PASSWORD_RESET_MAX_PER_HOUR = int(os.environ.get("PASSWORD_RESET_MAX_PER_HOUR", "3"))
# Lists count matches up to this many and say "1,000+" beyond: counting costs in proportion
# to the rows counted, and a list page's database time is its largest cost.
LIST_COUNT_CAP = int(os.environ.get("LIST_COUNT_CAP", "1000"))
# PostgreSQL connections per process for reads a page runs beside its own Python, such as the
# list's rows and its count (core.db.side_query); 0 runs them one after another.
SIDE_QUERY_THREADS = int(os.environ.get("SIDE_QUERY_THREADS", "2"))

# Customer imports (the migration app): caps checked before and while a file is read.
IMPORT_MAX_UPLOAD_MB = int(os.environ.get("IMPORT_MAX_UPLOAD_MB", "200"))
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "1000000"))
IMPORT_MAX_COLUMNS = int(os.environ.get("IMPORT_MAX_COLUMNS", "200"))
# A workbook sheet is read as a grid from A1 to its last cell; this caps the grid's cells.
IMPORT_MAX_SHEET_CELLS = int(os.environ.get("IMPORT_MAX_SHEET_CELLS", "20000000"))
IMPORT_MAX_ZIP_ENTRIES = int(os.environ.get("IMPORT_MAX_ZIP_ENTRIES", "500"))
IMPORT_MAX_UNCOMPRESSED_BYTES = int(os.environ.get("IMPORT_MAX_UNCOMPRESSED_MB", "2000")) * 10**6
IMPORT_MAX_ZIP_RATIO = int(os.environ.get("IMPORT_MAX_ZIP_RATIO", "200"))
IMPORT_BATCH_SIZE = int(os.environ.get("IMPORT_BATCH_SIZE", "2000"))
# A running import (PostgreSQL) whose progress has not moved for this long lost its worker.
IMPORT_STALL_MINUTES = int(os.environ.get("IMPORT_STALL_MINUTES", "15"))
# Any other background job (export, rank recalculation, bulk change) whose worker has not been
# heard from for this long is marked failed by the worker's sweep (core.jobs).
JOB_STALL_MINUTES = int(os.environ.get("JOB_STALL_MINUTES", "30"))
# How often `manage.py worker` runs that sweep, in seconds.
JOB_SWEEP_SECONDS = int(os.environ.get("JOB_SWEEP_SECONDS", "60"))
# Work `manage.py worker` runs besides tasks: (dotted path of a callable, every N seconds).
WORKER_PERIODIC = [
    ("audiences.services.refresh_stale_sizes", 15 * 60),
    ("audiences.services.freeze_due", 60 * 60),
    ("cards.services.expire_due", 60 * 60),
    ("customers.access_log.prune", 24 * 60 * 60),
    ("console.schedules.run_due", 60),
]
# The personal-data access log keeps entries this many days (then the worker prunes them).
PII_LOG_RETENTION_DAYS = int(os.environ.get("PII_LOG_RETENTION_DAYS", "365"))
# An audience's size on the audience list is recounted when older than this.
AUDIENCE_COUNT_MINUTES = int(os.environ.get("AUDIENCE_COUNT_MINUTES", "60"))

# Tourist cards: an arrival further back than this is refused as a typing mistake.
TOURIST_ARRIVAL_MAX_DAYS_AGO = int(os.environ.get("TOURIST_ARRIVAL_MAX_DAYS_AGO", "90"))

# Wholesale applications: documents per application and their size, the one-time link that
# asks an applicant for more, and how often one address or phone may apply.
WHOLESALE_DOCUMENT_MAX_MB = int(os.environ.get("WHOLESALE_DOCUMENT_MAX_MB", "5"))
WHOLESALE_DOCUMENT_MAX_COUNT = int(os.environ.get("WHOLESALE_DOCUMENT_MAX_COUNT", "5"))
WHOLESALE_INFO_LINK_DAYS = int(os.environ.get("WHOLESALE_INFO_LINK_DAYS", "14"))
WHOLESALE_APPLY_PER_IP_PER_HOUR = int(os.environ.get("WHOLESALE_APPLY_PER_IP_PER_HOUR", "10"))
WHOLESALE_APPLY_PER_PHONE_PER_DAY = int(os.environ.get("WHOLESALE_APPLY_PER_PHONE_PER_DAY", "3"))

# django-import-export on the Django admin's reference data: who may import or export is the
# model's add / view permission (by default anyone with admin access could), and formula
# escaping is our own (core.xlsx_safety), applied to every exported cell.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"quiet_client_errors": {"()": "core.logs.QuietClientErrors"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # Django's own console handler would print each of its records a second time.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.request": {"filters": ["quiet_client_errors"]},
    },
}
