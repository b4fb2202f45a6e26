"""Django settings for mendian, all from environment variables.

DATABASE_URL       default: SQLite file var/mendian.sqlite3 (WAL, IMMEDIATE transactions)
SECRET_KEY         default: generated once and kept in var/secret_key
MENDIAN_TIME_ZONE  default: Asia/Shanghai
MENDIAN_LOG_LEVEL  default: INFO
MENDIAN_VAR_DIR    default: ./var (where the SQLite file, the secret and uploads live)
MENDIAN_DEBUG      default: off
MENDIAN_BROKER_URL Celery broker (redis://… or amqp://…); unset = embedded in-process jobs
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("MENDIAN_VAR_DIR", PROJECT_DIR / "var")).resolve()


def _secret_key() -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        # Written once so that every worker process and restart shares the key.
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(secrets.token_urlsafe(50))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("MENDIAN_DEBUG", "").lower() in {"1", "true", "yes"}
ALLOWED_HOSTS = [h for h in os.environ.get("MENDIAN_ALLOWED_HOSTS", "*").split(",") if h]
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("MENDIAN_CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000").split(",") if o
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "mendian.platform",
    "mendian.org",
    "mendian.catalog",
    "mendian.inventory",
    "mendian.sales",
    "mendian.members",
    "mendian.promotions",
    "mendian.purchasing",
    "mendian.planning",
    "mendian.transfers",
    "mendian.analytics",
    "mendian.console",
    "mendian.demo",
]

MIDDLEWARE = [
    "mendian.core.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mendian.urls"
WSGI_APPLICATION = "mendian.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "mendian.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{SQLITE_PATH}"
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=int(os.environ.get("MENDIAN_CONN_MAX_AGE", "60")))
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] and _db["NAME"] != ":memory:":
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _db["OPTIONS"] = {
        # Writers run one at a time (SQLite has no row locks); readers never wait (WAL).
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    _db["CONN_MAX_AGE"] = 0
    _db.setdefault("TEST", {})["NAME"] = os.environ.get("MENDIAN_SQLITE_TEST_NAME") or None
elif _db["ENGINE"] in {"django.db.backends.postgresql"}:
    _db.setdefault("OPTIONS", {})
    if os.environ.get("MENDIAN_PG_PREPARE", "1") == "1":
        # Server-side binding + prepared statements: the checkout's statements are planned once.
        _db["OPTIONS"]["server_side_binding"] = True
        _db["OPTIONS"]["prepare_threshold"] = int(os.environ.get("MENDIAN_PG_PREPARE_THRESHOLD", "2"))
    _db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _db}
IS_SQLITE = _db["ENGINE"] == "django.db.backends.sqlite3"
IS_POSTGRES = _db["ENGINE"] == "django.db.backends.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- auth ---------------------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS: list[dict] = []
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
ACCESS_TOKEN_SECONDS = int(os.environ.get("MENDIAN_ACCESS_TOKEN_SECONDS", "900"))
REFRESH_TOKEN_SECONDS = int(os.environ.get("MENDIAN_REFRESH_TOKEN_SECONDS", str(14 * 24 * 3600)))
# Sign-in throttling: refused for LOCKOUT_SECONDS after this many failures in that window.
LOGIN_MAX_FAILURES_PER_USER = 5
LOGIN_MAX_FAILURES_PER_IP = 20
LOGIN_LOCKOUT_SECONDS = 15 * 60

# --- i18n ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("MENDIAN_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- static -------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request without it (collectstatic fills it)
# The console's front-end libraries come from node_modules (npm ci, pinned by package-lock.json).
NODE_MODULES = PROJECT_DIR / "node_modules"
# Only the packages' dist folders: WhiteNoise scans every file it serves at start-up.
STATICFILES_DIRS = [
    (f"vendor/{pkg}/dist", NODE_MODULES / pkg / "dist")
    for pkg in ("echarts", "htmx.org")
    if (NODE_MODULES / pkg / "dist").exists()
]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

# --- request limits -----------------------------------------------------------------------------
MENDIAN_MAX_BODY_BYTES = int(os.environ.get("MENDIAN_MAX_BODY_BYTES", str(2 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = max(MENDIAN_MAX_BODY_BYTES, 2621440)
MENDIAN_MAX_ORDER_LINES = 500

# --- jobs ---------------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("MENDIAN_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TIMEZONE = TIME_ZONE

EMAIL_BACKEND = os.environ.get("MENDIAN_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("MENDIAN_EMAIL_FROM", "mendian <purchasing@mendian.local>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("MENDIAN_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
