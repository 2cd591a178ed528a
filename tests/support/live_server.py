"""The app as it runs in production, for tests and benchmarks: gunicorn with
infra/gunicorn.conf.py in a subprocess on a free loopback port, and a small HTTP client that
keeps cookies and the CSRF token like a browser.

    with Gunicorn(env) as server:
        browser = Browser(server.url)
        browser.sign_in("admin@example.jp", "password")
        page = browser.get("/t/alpha/facilities/")
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import urlencode, urlsplit

from app.config import PROJECT_ROOT

GUNICORN_CONFIG = PROJECT_ROOT / "infra" / "gunicorn.conf.py"
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Gunicorn:
    """``gunicorn -c infra/gunicorn.conf.py wsgi:app`` with the given environment."""

    def __init__(self, env: dict[str, str], log_path: Path, startup_timeout: float = 60.0):
        self.port = free_port()
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(gunicorn), "-c", str(GUNICORN_CONFIG), "wsgi:app"],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start:\n{self.log_tail()}")
            probe = Browser(self.url, timeout=5)
            try:
                if probe.get("/healthz").status in (200, 503):
                    return
            except OSError:
                time.sleep(0.1)
            finally:
                probe.close()
        self.kill()
        raise RuntimeError(f"gunicorn did not answer in time:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        """The worker processes (children of the master)."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def stop(self, timeout: float = 90.0) -> int:
        """SIGTERM (graceful: requests and background jobs finish); returns the exit code."""
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        self.process = None
        return code

    def kill(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
            self.process = None

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    def json_lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log_lines() if line.startswith("{")]

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_lines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> Gunicorn:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.stop(timeout=30)


@dataclass
class Page:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


@dataclass
class Browser:
    """Cookies, the CSRF token and keep-alive, as a browser would; no redirects followed."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""
    keep_csrf: bool = True  # read the CSRF token from every page (off: only GETs follow)
    timeout: float = 60.0
    _connection: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            parts = urlsplit(self.base)
            self._connection = http.client.HTTPConnection(
                parts.hostname or "127.0.0.1", parts.port, timeout=self.timeout
            )
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Page:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method not in ("GET", "HEAD") and self.csrf:
            sent.setdefault("X-CSRFToken", self.csrf)
        for attempt in (1, 2):
            connection = self._connect()
            try:
                connection.request(method, path, body=body, headers=sent)
                response = connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()  # a kept-alive connection the server closed: once more
                if attempt == 2:
                    raise
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value and "expires=thu, 01 jan 1970" not in cookie.lower():
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        page = Page(response.status, response.headers, data)
        if self.keep_csrf:
            token = CSRF_HEADER.search(page.text) or CSRF_FIELD.search(page.text)
            if token:
                self.csrf = token.group(1)
        return page

    def get(self, path: str, headers: dict[str, str] | None = None) -> Page:
        return self.request("GET", path, headers=headers)

    def post(
        self, path: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> Page:
        body = urlencode(data or {}).encode()
        return self.request(
            "POST",
            path,
            body,
            {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        )

    def upload(self, path: str, field_name: str, filename: str, content: bytes) -> Page:
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; '
                f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.request(
            "POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )

    def sign_in(self, email: str, password: str) -> Page:
        self.get("/login")
        page = self.post("/login", {"email": email, "password": password})
        if page.status != 303:
            raise AssertionError(f"sign-in failed: {page.status}")
        self.get(page.location)  # a fresh session: take its CSRF token
        return page
