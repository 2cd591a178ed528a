"""Gunicorn settings for Renkei:  gunicorn -c infra/gunicorn.conf.py wsgi:app

Every value can be changed with an environment variable (the defaults fit a 2-core machine
behind a reverse proxy). See infra/RUNBOOK.md for the reasoning and the numbers measured.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

_cores = multiprocessing.cpu_count()

# Where to listen. In the container 0.0.0.0:8000 (the proxy is another container); on a
# plain machine the systemd unit sets 127.0.0.1:8000 behind nginx/Apache on the same host.
bind = [os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")]

# Processes x threads. Pages are mostly Python (CPU) with short database waits: one process
# per core plus one keeps the cores busy, two threads each cover the database waits. Each
# process holds its own connection pool (DB_POOL_SIZE, default 5) and its own memory
# (about 150 MB): keep workers x (DB_POOL_SIZE + DB_MAX_OVERFLOW) under PostgreSQL's
# max_connections.
workers = int(os.environ.get("WEB_CONCURRENCY", str(_cores + 1)))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "2"))

# A request that takes longer than this kills its worker (gthread workers keep beating while a
# thread is busy, so this guards against a hung process rather than a slow page).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# On restart (SIGTERM, SIGHUP, max_requests) a worker finishes its requests and waits for its
# background jobs (imports) for up to this long before it is killed.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "60"))
keepalive = 5
# Recycle workers now and then (bounded memory growth); the jitter keeps them from all
# restarting at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10

# Each worker creates its own app (its own database pool): nothing is shared across fork.
preload_app = False
# The heartbeat file on a RAM disk (a container's overlay filesystem can stall it).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# Request lines come from the app itself (JSON, with request and workspace ids, without the
# client's address or the query string). Gunicorn's own access log is off for that reason.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.logs.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    # The app adds its own handler to the root logger in each worker (app.logs).
    "root": {"level": "WARNING", "handlers": []},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
}
if os.environ.get("LOG_FORMAT", "json") != "json":
    logconfig_dict = {}

# Metrics: request counts, durations and worker counts to StatsD, when an agent is there.
statsd_host = os.environ.get("STATSD_HOST") or None
statsd_prefix = os.environ.get("STATSD_PREFIX", "renkei")

# Gunicorn's control socket (under the user's home) is not used; the container's file system
# is read-only and the service user has no home.
control_socket_disable = True

# Proxy headers are handled by the app (PROXY_HOPS, werkzeug's ProxyFix).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


def worker_exit(server: Any, worker: Any) -> None:
    """Let this worker's background jobs finish before it goes (within the graceful timeout)."""
    from app import jobs

    if jobs.running():
        worker.log.info("waiting for %d background job(s)", jobs.running())
        if not jobs.drain(max(1.0, min(graceful_timeout, timeout) - 5.0)):
            worker.log.warning("background job(s) still running at exit: interrupted")


def post_worker_init(worker: Any) -> None:
    """After a worker has loaded the app: start-up objects leave the garbage collector's
    view, so full collections stay short (app.factory.freeze_startup_objects)."""
    from app.factory import freeze_startup_objects

    freeze_startup_objects()
