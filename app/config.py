"""Settings from environment variables, with embedded defaults.

The embedded default needs nothing: SQLite and files under ``instance/``, mail printed to the
console, billing off. Production switches each part on with environment variables alone.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"
# Room for the form fields and multipart headers around an upload of the largest size.
REQUEST_OVERHEAD_BYTES = 256 * 1024


def _instance_secret(instance_path: Path) -> str:
    """A per-installation secret kept in instance/, so dev sessions survive restarts."""
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


@dataclass
class Settings:
    """Everything configurable, read once by create_app()."""

    env: str = "development"
    instance_path: Path = DEFAULT_INSTANCE
    secret_key: str = ""
    # Runtime connection. On PostgreSQL this is a role that owns no tables (RLS applies to it).
    database_url: str = ""
    # Schema owner used by migrations; defaults to database_url (fine for SQLite).
    migration_database_url: str = ""
    mail_backend: str = "console"  # console | smtp | memory (tests)
    mail_from: str = "Renkei <no-reply@renkei.example>"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    ratelimit_storage_uri: str = "memory://"
    # Shared state of several workers or machines (rate-limit counters, job progress).
    redis_url: str = ""
    # Logs: "json" (one object per line, production), "text" (a developer's terminal), "off".
    log_format: str = "text"
    log_level: str = "INFO"
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted (0: none).
    proxy_hops: int = 0
    # Connection pool per worker process (PostgreSQL); seconds to wait for a connection.
    db_pool_size: int = 5
    db_max_overflow: int = 5
    db_pool_timeout: float = 10.0
    # The database is a Citus coordinator (tenant tables distributed by tenant_id).
    citus: bool = False
    login_limit_per_address: str = "20 per 10 minutes"
    login_limit_per_account: str = "5 per 10 minutes"
    invitation_max_age_days: int = 7
    password_reset_max_age_minutes: int = 60
    # How long a support agent's session to change a workspace's data lasts.
    support_session_minutes: int = 120
    # argon2id cost; tests lower it so the suite stays fast.
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    # Long work (imports) runs in a thread with visible progress; tests run it inline.
    background_jobs: bool = True
    # Stripe billing: off unless both keys are set (the embedded default). The API base is
    # only changed by the tests, which point the real library at a local fake.
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""
    stripe_price_municipal: str = ""
    stripe_price_prefecture: str = ""
    stripe_timeout_seconds: float = 20.0
    stripe_max_network_retries: int = 2
    billing_trial_days: int = 30
    invoice_days_until_due: int = 30
    # Files (app/storage): a folder under instance/ unless STORAGE_BACKEND=s3.
    storage_backend: str = "local"  # local | s3
    s3_bucket: str = ""
    s3_region: str = ""
    s3_endpoint_url: str = ""  # for S3-compatible servers (MinIO, ...); blank = AWS
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    # Lifetime of presigned download links (S3 only); downloads are otherwise streamed.
    s3_presign_seconds: int = 300
    # The largest upload: one limit for a file and for the request carrying it.
    upload_max_bytes: int = 20 * 1024 * 1024
    # Built fiscal-year reports kept per worker process (app/reports/cache.py); 0 = off.
    report_cache_entries: int = 16
    testing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def billing_enabled(self) -> bool:
        return bool(self.stripe_secret_key and self.stripe_webhook_secret)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        instance_path = Path(env.get("RENKEI_INSTANCE_PATH", str(DEFAULT_INSTANCE)))
        database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'renkei.db'}"
        mode = env.get("RENKEI_ENV", "development")
        secret = env.get("SECRET_KEY", "")
        if not secret:
            if mode == "production":
                raise RuntimeError("SECRET_KEY must be set in production")
            secret = _instance_secret(instance_path)
        redis_url = env.get("REDIS_URL", "")
        stripe_key, stripe_hook = (
            env.get("STRIPE_SECRET_KEY", ""),
            env.get("STRIPE_WEBHOOK_SECRET", ""),
        )
        if bool(stripe_key) != bool(stripe_hook):
            raise RuntimeError("set both STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET, or neither")
        storage_backend = env.get("STORAGE_BACKEND", "s3" if env.get("S3_BUCKET") else "local")
        if storage_backend not in ("local", "s3"):
            raise RuntimeError("STORAGE_BACKEND must be local or s3")
        if storage_backend == "s3" and not env.get("S3_BUCKET"):
            raise RuntimeError("S3_BUCKET must be set when STORAGE_BACKEND=s3")
        return cls(
            env=mode,
            instance_path=instance_path,
            secret_key=secret,
            database_url=database_url,
            migration_database_url=env.get("MIGRATION_DATABASE_URL", database_url),
            mail_backend=env.get("MAIL_BACKEND", "smtp" if env.get("SMTP_HOST") else "console"),
            mail_from=env.get("MAIL_FROM", cls.mail_from),
            smtp_host=env.get("SMTP_HOST", "localhost"),
            smtp_port=int(env.get("SMTP_PORT", "587")),
            smtp_user=env.get("SMTP_USER", ""),
            smtp_password=env.get("SMTP_PASSWORD", ""),
            smtp_starttls=env.get("SMTP_STARTTLS", "1") != "0",
            ratelimit_storage_uri=env.get("RATELIMIT_STORAGE_URI", redis_url or "memory://"),
            stripe_secret_key=stripe_key,
            stripe_webhook_secret=stripe_hook,
            stripe_api_base=env.get("STRIPE_API_BASE", ""),
            stripe_price_municipal=env.get("STRIPE_PRICE_MUNICIPAL", ""),
            stripe_price_prefecture=env.get("STRIPE_PRICE_PREFECTURE", ""),
            billing_trial_days=int(env.get("BILLING_TRIAL_DAYS", "30")),
            invoice_days_until_due=int(env.get("INVOICE_DAYS_UNTIL_DUE", "30")),
            storage_backend=storage_backend,
            s3_bucket=env.get("S3_BUCKET", ""),
            s3_region=env.get("S3_REGION", ""),
            s3_endpoint_url=env.get("S3_ENDPOINT_URL", ""),
            s3_access_key_id=env.get("S3_ACCESS_KEY_ID", ""),
            s3_secret_access_key=env.get("S3_SECRET_ACCESS_KEY", ""),
            s3_presign_seconds=int(env.get("S3_PRESIGN_SECONDS", "300")),
            upload_max_bytes=int(env.get("UPLOAD_MAX_BYTES", str(cls.upload_max_bytes))),
            redis_url=redis_url,
            log_format=env.get("LOG_FORMAT", "json" if mode == "production" else "text"),
            log_level=env.get("LOG_LEVEL", "INFO"),
            proxy_hops=int(env.get("PROXY_HOPS", "0")),
            db_pool_size=int(env.get("DB_POOL_SIZE", "5")),
            db_max_overflow=int(env.get("DB_MAX_OVERFLOW", "5")),
            db_pool_timeout=float(env.get("DB_POOL_TIMEOUT", "10")),
            citus=env.get("CITUS", "0") == "1",
            report_cache_entries=int(env.get("REPORT_CACHE_ENTRIES", "16")),
        )

    def flask_config(self) -> dict[str, Any]:
        return {
            "SECRET_KEY": self.secret_key,
            "TESTING": self.testing,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.production,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": self.production,
            "PREFERRED_URL_SCHEME": "https" if self.production else "http",
            "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
            "BABEL_DEFAULT_LOCALE": "ja",
            "BABEL_DEFAULT_TIMEZONE": "Asia/Tokyo",
            "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "app" / "translations"),
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_uri,
            "RATELIMIT_HEADERS_ENABLED": False,
            # If the shared store (Redis) is down, count in this process rather than fail.
            "RATELIMIT_SWALLOW_ERRORS": True,
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
            # A request may carry one upload of the largest size plus its form fields; anything
            # bigger is refused with the 413 page before it is read.
            "MAX_CONTENT_LENGTH": self.upload_max_bytes + REQUEST_OVERHEAD_BYTES,
            **self.extra,
        }
