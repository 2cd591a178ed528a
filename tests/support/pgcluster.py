"""Throwaway PostgreSQL clusters for tests.

Usage::

    with ThrowawayCluster() as cluster:
        engine = sqlalchemy.create_engine(cluster.url)

The cluster lives in a fresh directory under /tmp, listens on 127.0.0.1 on a free port,
runs with durability switched off (fsync, full_page_writes, synchronous_commit) and is
stopped (``pg_ctl -m immediate``) and deleted on exit. It never touches a system server.

When running as root, every PostgreSQL binary is run as the ``postgres`` user through
``runuser -u postgres --`` (initdb refuses to run as root).

Run ``python -m tests.support.pgcluster`` to start a cluster by hand: it prints the URL
and keeps the cluster running until Ctrl-C.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType, TracebackType

import psycopg

__all__ = ["ThrowawayCluster", "find_pg_bindir"]

SUPERUSER = "postgres"
HOST = "127.0.0.1"
_PORT_ATTEMPTS = 5
_LOG_TAIL_LINES = 30


def _has_initdb(bindir: Path) -> bool:
    return (bindir / "initdb").is_file()


def _version_key(bindir: str) -> tuple[int, ...]:
    version = Path(bindir).parent.name  # /usr/lib/postgresql/<version>/bin
    return tuple(int(part) for part in re.findall(r"\d+", version))


def find_pg_bindir() -> Path | None:
    """Locate the PostgreSQL server binaries (the directory holding initdb and pg_ctl).

    Order: the PG_BINDIR environment variable, then ``pg_config --bindir``, then the
    highest-versioned ``/usr/lib/postgresql/*/bin`` containing initdb.
    """
    env_dir = os.environ.get("PG_BINDIR")
    if env_dir:
        return Path(env_dir)

    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        # pg_config from libpq-dev alone may point at a directory without server binaries.
        if out and _has_initdb(Path(out)):
            return Path(out)

    candidates = [d for d in glob.glob("/usr/lib/postgresql/*/bin") if _has_initdb(Path(d))]
    if candidates:
        return Path(max(candidates, key=_version_key))
    return None


def _as_root() -> bool:
    return os.geteuid() == 0


def _run(
    args: Sequence[str | os.PathLike[str]], *, cwd: Path | None = None, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool, as user postgres when we are root. Never raises on exit code."""
    cmd = [os.fspath(a) for a in args]
    if _as_root():
        cmd = ["runuser", "-u", SUPERUSER, "--", *cmd]
    return subprocess.run(
        cmd,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _describe(proc: subprocess.CompletedProcess[str]) -> str:
    output = (proc.stdout + proc.stderr).strip()
    return f"`{' '.join(proc.args)}` exited with {proc.returncode}:\n{output}"


class ThrowawayCluster:
    """A disposable PostgreSQL cluster; use as a context manager.

    Attributes available after start: ``url`` (SQLAlchemy URL for the superuser),
    ``conninfo`` (libpq connection string), ``port``, ``base_dir``, ``data_dir``,
    ``log_path``.
    """

    def __init__(self, bindir: Path | None = None, *, startup_timeout: float = 20.0) -> None:
        found = bindir if bindir is not None else find_pg_bindir()
        if found is None or not _has_initdb(found):
            raise RuntimeError(
                "PostgreSQL server binaries not found (set PG_BINDIR, or install the "
                "'postgresql' package; see infra/scripts/ensure-system-packages.sh)"
            )
        self.bindir: Path = found
        self.startup_timeout = startup_timeout
        self._base_dir: Path | None = None
        self._port: int | None = None
        self._running = False

    # -- public API -----------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None or not self._running:
            raise RuntimeError("cluster is not running")
        return self._port

    @property
    def base_dir(self) -> Path:
        if self._base_dir is None:
            raise RuntimeError("cluster has not been created")
        return self._base_dir

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_path(self) -> Path:
        return self.base_dir / "log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL: postgresql+psycopg://postgres@127.0.0.1:<port>/postgres."""
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/postgres"

    @property
    def conninfo(self) -> str:
        """libpq connection string for the superuser (usable with psycopg.connect)."""
        return f"host={HOST} port={self.port} user={SUPERUSER} dbname=postgres"

    def start(self) -> None:
        if self._running:
            raise RuntimeError("cluster already running")
        try:
            self._make_base_dir()
            self._initdb()
            self._start_server()
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (immediate mode) and delete the directory. Idempotent."""
        base = self._base_dir
        if base is None:
            return
        if self._running or (base / "data" / "postmaster.pid").exists():
            _run(
                [self.bindir / "pg_ctl", "-D", base / "data", "-m", "immediate", "-w", "stop"],
                cwd=base,
                timeout=60,
            )
        self._running = False
        shutil.rmtree(base, ignore_errors=True)
        self._base_dir = None

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the server but keep its data and port: ``start_server`` brings it back on the
        same URL (for tests of what clients do while the database restarts)."""
        proc = _run(
            [self.bindir / "pg_ctl", "-D", self.data_dir, "-m", mode, "-w", "stop"],
            cwd=self.base_dir,
            timeout=60,
        )
        if proc.returncode != 0:
            raise RuntimeError(_describe(proc))
        self._running = False

    def start_server(self) -> None:
        """Start a server stopped with ``stop_server`` again, on the same port."""
        if self._running or self._port is None:
            raise RuntimeError("start_server() is for a cluster stopped with stop_server()")
        self._start_server(fixed_port=self._port)
        self._wait_until_ready()

    def __enter__(self) -> ThrowawayCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------------

    def _make_base_dir(self) -> None:
        base = Path(tempfile.mkdtemp(prefix="pgcluster-", dir="/tmp"))
        self._base_dir = base
        if _as_root():
            pw = pwd.getpwnam(SUPERUSER)
            os.chown(base, pw.pw_uid, pw.pw_gid)
        os.chmod(base, 0o700)

    def _initdb(self) -> None:
        base = self.base_dir
        failures: list[str] = []
        for locale in ("C.UTF-8", "C"):
            proc = _run(
                [
                    self.bindir / "initdb",
                    "--no-sync",
                    "-A",
                    "trust",
                    "-U",
                    SUPERUSER,
                    "-E",
                    "UTF8",
                    f"--locale={locale}",
                    "-D",
                    base / "data",
                ],
                cwd=base,
            )
            if proc.returncode == 0:
                return
            failures.append(_describe(proc))
            shutil.rmtree(base / "data", ignore_errors=True)
        raise RuntimeError("initdb failed:\n" + "\n\n".join(failures))

    def _start_server(self, fixed_port: int | None = None) -> None:
        base = self.base_dir
        last_error = ""
        for _ in range(_PORT_ATTEMPTS if fixed_port is None else 1):
            port = fixed_port or _free_port()
            options = (
                f"-F -k {base} -p {port} -c listen_addresses={HOST} "
                "-c full_page_writes=off -c synchronous_commit=off -c fsync=off"
            )
            proc = _run(
                [
                    self.bindir / "pg_ctl",
                    "-w",
                    "-t",
                    str(max(1, int(self.startup_timeout))),
                    "-D",
                    base / "data",
                    "-o",
                    options,
                    "-l",
                    self.log_path,
                    "start",
                ],
                cwd=base,
                timeout=self.startup_timeout + 30,
            )
            log_tail = self._log_tail()
            if proc.returncode == 0:
                self._port = port
                self._running = True
                return
            last_error = f"{_describe(proc)}\n--- server log (tail) ---\n{log_tail}"
            if "already in use" not in log_tail and "could not bind" not in log_tail:
                break
            # Port collision: someone grabbed the port between probe and bind; try another.
            self.log_path.unlink(missing_ok=True)
        raise RuntimeError(f"PostgreSQL failed to start in {base}:\n{last_error}")

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last_exc: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.conninfo, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                last_exc = exc
                time.sleep(0.05)
        raise RuntimeError(
            f"PostgreSQL on port {self._port} not accepting connections after "
            f"{self.startup_timeout:.0f}s: {last_exc}\n--- server log (tail) ---\n"
            f"{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no server log)"
        return "\n".join(lines[-_LOG_TAIL_LINES:])


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Explicit handlers: SIGINT may be inherited as ignored (e.g. when started with `&`).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise_keyboard_interrupt)
    started = time.monotonic()
    with ThrowawayCluster() as cluster:
        print(cluster.url, flush=True)
        print(
            f"# started in {time.monotonic() - started:.2f}s; data in {cluster.data_dir}; "
            "Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("# stopping", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
