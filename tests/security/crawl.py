"""What the app shows, for suites generated over the URL map: every GET page of a workspace
(and the pages outside one), the forms on them — where they post and which fields they carry
— and checks shared by those suites (is a redirect same-site? does a page need unsafe-eval?).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

from tests.test_access_matrix import build, methods_of, tenant_rules

# Pages outside a workspace that are not forms or that only redirect.
SKIPPED_GLOBAL_PAGES = {"static", "web.set_language", "web.healthz"}


@dataclass
class FieldSpec:
    kind: str  # text, textarea, select, checkbox, radio, file, hidden, number, date, ...
    options: list[str] = field(default_factory=list)


@dataclass
class FormSpec:
    fields: dict[str, FieldSpec] = field(default_factory=dict)

    def add(self, name: str, kind: str, value: str | None = None) -> None:
        spec = self.fields.setdefault(name, FieldSpec(kind))
        if value is not None and value not in spec.options:
            spec.options.append(value)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]


class PageParser(HTMLParser):
    """Forms (action, method, fields), htmx attributes and what CSP would refuse."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, str, FormSpec]] = []  # (action, method, fields)
        self.hx_posts: list[str] = []
        self.elements: list[Element] = []
        self.inline_scripts = 0
        self._form: tuple[str, str, FormSpec] | None = None
        self._select: str | None = None
        self._script_open = False

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attrs_list}
        self.elements.append(Element(tag, attrs))
        if tag == "script" and "src" not in attrs:
            self.inline_scripts += 1
        for verb in ("hx-post", "hx-put", "hx-patch", "hx-delete"):
            if attrs.get(verb):
                self.hx_posts.append(attrs[verb])
        if tag == "form":
            self._form = (attrs.get("action", ""), attrs.get("method", "get").lower(), FormSpec())
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        spec = self._form[2]
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            value = attrs.get("value") if kind in ("checkbox", "radio", "hidden") else None
            spec.add(name, kind, value)
        elif tag == "textarea" and name:
            spec.add(name, "textarea")
        elif tag == "select" and name:
            spec.add(name, "select")
            self._select = name
        elif tag == "option" and self._select is not None:
            spec.add(self._select, "select", attrs.get("value", ""))
        elif tag == "button" and name:
            spec.add(name, "select", attrs.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


@dataclass
class Crawl:
    pages: dict[str, str] = field(default_factory=dict)  # url → html
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    forms: dict[str, FormSpec] = field(default_factory=lambda: defaultdict(FormSpec))

    def fields_for(self, endpoint: str) -> dict[str, FieldSpec]:
        return dict(self.forms[endpoint].fields) if endpoint in self.forms else {}

    def all_fields(self) -> dict[str, FieldSpec]:
        found: dict[str, FieldSpec] = {}
        for spec in self.forms.values():
            for name, field_spec in spec.fields.items():
                found.setdefault(name, field_spec)
        return found


def global_get_rules(app: Flask) -> list[Rule]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if not rule.rule.startswith("/t/")
        and "GET" in methods_of(rule)
        and rule.endpoint not in SKIPPED_GLOBAL_PAGES
    ]


def post_rules(app: Flask) -> list[Rule]:
    """Every route that takes a POST: inside workspaces and outside."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if "POST" in methods_of(rule) and rule.endpoint != "static"
    ]


def endpoint_of(app: Flask, url: str, method: str = "POST") -> str | None:
    path = urlsplit(url).path
    try:
        endpoint, _args = app.url_map.bind("localhost").match(path, method=method)
    except HTTPException:
        return None
    return str(endpoint)


def crawl(app: Flask, client: Any, values: dict[str, object]) -> Crawl:
    """GET every page (workspace alpha, signed in as ``client``) and read its forms."""
    result = Crawl()
    urls = [build(rule, "alpha", values) for rule in tenant_rules(app) if "GET" in methods_of(rule)]
    urls += [build(rule, "", values) for rule in global_get_rules(app)]
    for url in urls:
        response = client.get(url)
        if response.status_code >= 400 or not response.content_type.startswith("text/html"):
            continue
        html = response.get_data(as_text=True)
        result.pages[url] = html
        result.headers[url] = dict(response.headers)
        parser = PageParser()
        parser.feed(html)
        for action, method, spec in parser.forms:
            if method != "post":
                continue
            endpoint = endpoint_of(app, urljoin(url, action or url))
            if endpoint is not None:
                for name, field_spec in spec.fields.items():
                    options: list[str | None] = [*field_spec.options] or [None]
                    for option in options:
                        result.forms[endpoint].add(name, field_spec.kind, option)
        for target in parser.hx_posts:
            endpoint = endpoint_of(app, urljoin(url, target))
            if endpoint is not None:
                result.forms.setdefault(endpoint, FormSpec())
    return result


_CONTROL = re.compile(r"[\x00-\x20]")


def is_same_site(location: str) -> bool:
    """Would a browser following ``location`` stay on this site?

    Browsers drop tabs and newlines anywhere, leading spaces and control characters, and read
    a backslash as a slash; "//host" and "/\\host" are other sites.
    """
    cleaned = _CONTROL.sub("", location).replace("\\", "/")
    if cleaned.startswith("//"):
        return False
    parts = urlsplit(cleaned)
    if parts.scheme and parts.scheme not in ("http", "https"):
        return False
    return parts.netloc in ("", "localhost")


CSP_BREAKERS = re.compile(r"^(on[a-z]+|style|hx-on.*)$")
# htmx runs an event filter such as keyup[key=='Enter'] through eval (a CSS selector later in
# the trigger, "from:find input[name=q]", is fine).
EVENT_FILTER = re.compile(r"^\s*[\w.:-]+\[")


def csp_problems(html: str) -> list[str]:
    """What a strict CSP (script-src 'self', style-src 'self', no eval) would block."""
    parser = PageParser()
    parser.feed(html)
    problems = []
    if parser.inline_scripts:
        problems.append(f"{parser.inline_scripts} inline <script>")
    for element in parser.elements:
        for name, value in element.attrs.items():
            if CSP_BREAKERS.match(name):
                problems.append(f"<{element.tag} {name}=...>")
            if name in ("href", "src", "action") and value.strip().lower().startswith(
                "javascript:"
            ):
                problems.append(f"<{element.tag} {name}=javascript:...>")
            if name == "hx-trigger" and any(EVENT_FILTER.match(part) for part in value.split(",")):
                problems.append(f"<{element.tag} hx-trigger={value!r}> needs eval")
            if name == "hx-vals" and value.strip().startswith(("js:", "javascript:")):
                problems.append(f"<{element.tag} hx-vals={value!r}> needs eval")
    return problems
