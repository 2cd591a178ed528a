"""Open redirects and path traversal, over the whole URL map.

Every route is asked with ``next`` pointing off-site (query string and form field, signed in
and not): wherever the app redirects — Location or htmx's HX-Redirect — it stays on this
site. Every route with a string parameter (file names, kinds, tokens, static paths) is asked
with traversal payloads: never a 500, never a file from outside its folder."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from app.config import PROJECT_ROOT
from tests.security.crawl import global_get_rules, is_same_site, post_rules
from tests.test_access_matrix import build, methods_of, tenant_rules

OFF_SITE = (
    "//evil.example/",
    "https://evil.example/",
    "http:evil.example",
    "https:/evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    " //evil.example",
    "\x00//evil.example",
    "javascript:alert(document.domain)",
    "//evil.example@localhost/",
    "/t/alpha/deals//evil.example",
    "%2F%2Fevil.example",
)


@pytest.mark.parametrize(
    "location",
    [
        "//evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "https://evil.example",
        "java\nscript:x",
    ],
)
def test_the_checker_knows_what_leaves_the_site(location):
    assert not is_same_site(location)


@pytest.mark.parametrize("location", ["/t/alpha/deals/", "/login?next=%2F", "http://localhost/x"])
def test_the_checker_knows_what_stays(location):
    assert is_same_site(location)


def assert_stays(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code}"
    for header in ("Location", "HX-Redirect"):
        target = response.headers.get(header)
        if target is not None:
            assert is_same_site(target), f"{what}: {header} {target!r}"


# The sweep over every route uses the most common tricks; the pages that do take a ``next``
# are tried with all of them below.
SWEEP = ("//evil.example/", "/\\evil.example", "https://evil.example/", "/\t/evil.example")


def global_urls(app, values) -> list[tuple[str, str]]:
    urls = [("GET", build(rule, "", values)) for rule in global_get_rules(app)]
    urls += [
        ("POST", build(rule, "", values))
        for rule in post_rules(app)
        if not rule.rule.startswith("/t/")
    ]
    return [*urls, ("GET", "/lang/en")]


def workspace_urls(app, values) -> list[tuple[str, str]]:
    return [
        (method, build(rule, "alpha", values))
        for rule in tenant_rules(app)
        for method in methods_of(rule)
    ]


def with_next(url: str, target: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}next={quote(target, safe='')}"


def test_no_route_redirects_off_site(app, client, world, targets):
    checked = 0
    for method, url in workspace_urls(app, targets) + global_urls(app, targets):
        for target in SWEEP:
            client.login_as(world.admin)  # again: one of the routes signs out
            response = client.open(with_next(url, target), method=method, data={"next": target})
            assert_stays(response, f"admin {method} {url} next={target!r}")
            checked += 1
    assert checked > 400


def test_no_page_outside_a_workspace_redirects_off_site_for_visitors(app, client, targets):
    for method, url in global_urls(app, targets):
        for target in OFF_SITE:
            response = client.open(with_next(url, target), method=method, data={"next": target})
            assert_stays(response, f"anonymous {method} {url} next={target!r}")


def test_sign_in_with_an_off_site_next_lands_at_home(client, world):
    from tests.conftest import PASSWORD

    for target in OFF_SITE:
        client.post("/logout")
        response = client.post(
            f"/login?next={quote(target, safe='')}",
            data={"email": world.admin.email, "password": PASSWORD},
        )
        assert response.status_code == 303, target
        assert_stays(response, f"login next={target!r}")
    assert client.post("/logout").status_code == 303
    response = client.post(
        "/login?next=/t/alpha/deals/", data={"email": world.admin.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/t/alpha/deals/"  # a same-site next is kept


def test_moving_a_deal_with_an_off_site_next(client, world, samples):
    client.login_as(world.admin)
    for target in OFF_SITE:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.post(
                f"/t/alpha/deals/{samples['deals']}/stage",
                data={"stage": "quote", "next": target},
                headers=headers,
            )
            assert response.status_code in (204, 303), (target, response.status_code)
            assert_stays(response, f"deal stage next={target!r}")


# --- path traversal -----------------------------------------------------------------------

TRAVERSAL = (
    "..",
    "...",
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%252e%252e%252fetc%252fpasswd",
    "....//....//etc/passwd",
    "..\\..\\..\\etc\\passwd",
    "%2fetc%2fpasswd",
    "..%00.csv",
    "%c0%ae%c0%ae%c0%af",
    "secret_key",
    "..%2fsecret_key",
    "../instance/secret_key",
)
CANARY = "canary-b1d7e0c4-do-not-serve"


def string_parameters(rule) -> list[str]:
    """Parameters that are not integers (and not the workspace slug)."""
    return [
        name
        for name in sorted(rule.arguments - {"tenant_slug"})
        if f"<int:{name}>" not in rule.rule
    ]


def fill(rule, slug: str, values: dict, name: str, payload: str) -> str:
    url = rule.rule.replace("<tenant_slug>", slug)
    for argument in rule.arguments - {"tenant_slug"}:
        value = payload if argument == name else str(values[argument])
        for pattern in (f"<int:{argument}>", f"<path:{argument}>", f"<{argument}>"):
            url = url.replace(pattern, value)
    return url


@pytest.fixture
def canaries(app):
    """Files that must never be served: in the instance folder (where uploads and job files
    live, and the generated secret key) and next to the code."""
    paths = [
        Path(app.instance_path) / "canary.txt",
        Path(app.instance_path) / "imports" / "canary.txt",
        PROJECT_ROOT / "app" / "canary.txt",
    ]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(CANARY)
    yield
    for path in paths:
        path.unlink(missing_ok=True)


def assert_nothing_leaks(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code}"
    body = response.get_data()
    for secret in (CANARY.encode(), b"root:x:0:", b"test-secret", b"def create_app"):
        assert secret not in body, f"{what} served {secret!r}"


def test_string_parameters_do_not_traverse(app, client, world, targets, canaries):
    client.login_as(world.admin)
    rules = [rule for rule in app.url_map.iter_rules() if string_parameters(rule)]
    assert len(rules) >= 5  # data kinds, upload tokens, job ids, invitation/reset tokens, static
    for rule in rules:
        for name in string_parameters(rule):
            for payload in TRAVERSAL:
                url = fill(rule, "alpha", targets, name, payload)
                for method in methods_of(rule):
                    with client.open(url, method=method) as response:
                        assert_nothing_leaks(response, f"{method} {url}")


@pytest.mark.parametrize(
    "path",
    [
        "/static/../config.py",
        "/static/..%2fconfig.py",
        "/static/%2e%2e/%2e%2e/app/config.py",
        "/static/....//config.py",
        "/static/canary.txt",
        "/static/../canary.txt",
        "/static/..%2f..%2finstance/secret_key",
        "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc/passwd",
    ],
)
def test_static_files_stay_in_their_folder(client, canaries, path):
    with client.get(path) as response:
        assert response.status_code == 404, path
        assert_nothing_leaks(response, path)
