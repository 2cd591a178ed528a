"""create_app(): settings, extensions, blueprints, error pages, template helpers, CLI."""

from __future__ import annotations

import gc
import hmac
import itertools
import logging
from typing import Any

from flask import Blueprint, Flask, g, request, request_finished
from flask_babel import lazy_gettext as _l
from werkzeug.middleware.proxy_fix import ProxyFix

from app import jp, logs
from app.config import Settings
from app.extensions import babel, csrf, db, limiter, login_manager
from app.reports import summaries  # noqa: F401  (its flush hook keeps report summaries exact)
from app.reports.cache import ReportCache
from app.web.fields import use_one_pass_selects

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    app = Flask(
        __name__,
        instance_path=str(settings.instance_path),
        static_folder="web/static",
        template_folder="web/templates",
    )
    app.config.update(settings.flask_config())
    app.extensions["renkei_settings"] = settings
    app.extensions["renkei_report_cache"] = ReportCache(settings.report_cache_entries)
    use_one_pass_selects()

    logs.init_app(app, settings.log_format, settings.log_level)
    if settings.proxy_hops:
        # Behind N trusted proxies: the client's address (rate limits) and https come from
        # their X-Forwarded-* headers.
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    db.init_app(
        app,
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        citus=settings.citus,
    )

    _init_login(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=lambda: "Asia/Tokyo")
    limiter.init_app(app)

    from app.agreements.views import bp as agreements_bp
    from app.auth.views import bp as auth_bp
    from app.billing.views import bp as billing_bp
    from app.billing.views import webhooks as billing_webhooks_bp
    from app.buyers.views import bp as buyers_bp
    from app.catalogs.views import bp as catalogs_bp
    from app.deals.views import bp as deals_bp
    from app.facilities.views import bp as facilities_bp
    from app.imports.views import bp as imports_bp
    from app.matching.views import bp as matching_bp
    from app.notifications.views import bp as notifications_bp
    from app.orders.views import bp as orders_bp
    from app.portal.quality_views import bp as portal_quality_bp
    from app.portal.quality_views import facility_bp as facility_quality_bp
    from app.portal.views import bp as portal_bp
    from app.portal.views import facility_bp as facility_portal_bp
    from app.quality.views import bp as quality_bp
    from app.reports.views import bp as reports_bp
    from app.storage.views import bp as files_bp
    from app.web.errors import register_error_handlers
    from app.web.views import bp as web_bp
    from tenants.support_views import public as support_bp
    from tenants.support_views import workspace as support_access_bp
    from tenants.views import public as workspaces_bp
    from tenants.views import workspace as workspace_bp

    # Shared partials (the timeline) live with their package; a route-less blueprint
    # puts its templates on the search path.
    timeline_templates = Blueprint("timeline", "app.timeline", template_folder="templates")
    for blueprint in (
        timeline_templates,
        web_bp,
        auth_bp,
        workspaces_bp,
        workspace_bp,
        facilities_bp,
        buyers_bp,
        agreements_bp,
        deals_bp,
        orders_bp,
        matching_bp,
        catalogs_bp,
        imports_bp,
        billing_bp,
        billing_webhooks_bp,
        quality_bp,
        files_bp,
        notifications_bp,
        portal_bp,
        facility_portal_bp,
        portal_quality_bp,
        facility_quality_bp,
        support_bp,
        support_access_bp,
        reports_bp,
    ):
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    _init_templates(app)
    app.after_request(_security_headers)

    from app.cli import register_cli

    register_cli(app)
    return app


# Requests a worker serves before it freezes once more: by then it has compiled its
# templates, cached its SQL statements and loaded its translations, which live as long as the
# start-up objects (measured: a full collection then takes ~2 ms instead of ~10 ms).
WARM_UP_REQUESTS = 200


def freeze_startup_objects() -> None:
    """Take everything built so far (modules, the app, the schema, translations) out of the
    garbage collector's sight. A full collection then walks only what requests create:
    without this, every few requests paid ~80 ms for one (a built report's rows trigger it),
    which is what the slow tail of the report page was. Called once per worker after the
    app is loaded (infra/gunicorn.conf.py) and by the benchmarks, which mirror that; it
    freezes again after the worker's first ``WARM_UP_REQUESTS`` requests."""
    gc.collect()
    gc.freeze()
    request_finished.connect(_freeze_once_warm)


_served = itertools.count(1)


def _freeze_once_warm(_sender: Any, **_extra: Any) -> None:
    if next(_served) == WARM_UP_REQUESTS:
        gc.collect()
        gc.freeze()


def _init_login(app: Flask) -> None:
    from app.auth.models import User
    from tenants.isolation import use_user

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        # The id is "<user id>:<session token>"; a changed token ends this session.
        raw_id, _, token = user_id.partition(":")
        user = db.session.get(User, int(raw_id)) if raw_id.isdigit() else None
        if user is None or not user.is_active:
            return None
        if not hmac.compare_digest(user.session_token, token):
            return None
        use_user(db.session, user.id)
        return user


def _select_locale() -> str:
    from app.web.views import LANG_COOKIE, LANGUAGES

    chosen = request.cookies.get(LANG_COOKIE, "") if request else ""
    return chosen if chosen in LANGUAGES else "ja"


def _init_templates(app: Flask) -> None:
    from app.web.urls import url_builder
    from tenants.audit import (
        ACTION_LABELS,
        ACTOR_LABELS,
        OBJECT_LABELS,
        describe_changes,
        label,
    )
    from tenants.forms import KIND_LABELS, ROLE_LABELS
    from tenants.prefectures import prefecture_name

    app.jinja_env.filters.update(
        jst=jp.format_jst,
        yen=jp.format_yen,
        man_yen=jp.format_man_yen,
        fiscal_year_label=jp.fiscal_year_label,
        wareki=jp.wareki,
        prefecture=prefecture_name,
        role_label=lambda role: ROLE_LABELS.get(str(role), role),
        kind_label=lambda kind: KIND_LABELS.get(kind, kind),
        audit_action=lambda code: label(ACTION_LABELS, code),
        audit_object=lambda code: label(OBJECT_LABELS, code),
        audit_actor=lambda code: label(ACTOR_LABELS, code),
        audit_changes=describe_changes,
    )
    app.jinja_env.globals["url_builder"] = url_builder

    @app.context_processor
    def shell_context() -> dict[str, Any]:
        return {
            "nav_workspaces": _nav_workspaces,
            "current_lang": _select_locale,
            "workspace_nav": _workspace_nav,
            "workspace_home": _workspace_home,
        }


# The workspace's main navigation: (endpoint, label, admin only).
WORKSPACE_NAV = (
    ("workspace.dashboard", _l("Home"), False),
    ("deals.index", _l("Deals"), False),
    ("orders.index", _l("Orders"), False),
    ("matching.index", _l("Matching"), False),
    ("quality.index", _l("Quality assurance"), False),
    ("facilities.index", _l("Facilities"), False),
    ("buyers.index", _l("Buyers"), False),
    ("agreements.index", _l("Agreements"), False),
    ("reports.index", _l("Reports"), False),
    ("workspace.members", _l("Members"), False),
    ("catalogs.index", _l("Catalogues"), False),
    ("imports.index", _l("Import / export"), False),
    ("workspace.audit_log", _l("Audit log"), True),
    ("workspace.settings", _l("Settings"), True),
)


# The buyer portal's navigation; the facility portal has its own large tabs on each page.
BUYER_NAV = (
    ("portal.home", _l("Home"), False),
    ("portal.deals", _l("Deals and quotes"), False),
    ("portal.orders_index", _l("Orders"), False),
    ("portal.agreements", _l("Agreements"), False),
    ("portal_quality.index", _l("Quality and traceability"), False),
    ("portal_quality.nonconformances", _l("Nonconformances"), False),
    ("portal_quality.support_requests", _l("Technical support"), False),
    ("portal.request_work", _l("Request new work"), False),
)
PORTAL_NAVS = {"buyer": BUYER_NAV, "facility": ()}


def _workspace_nav() -> list[tuple[str, str]]:
    """Navigation entries the member may see (and that exist in this build)."""
    from flask import current_app

    membership = getattr(g, "membership", None)
    if membership is None:
        return []
    entries = PORTAL_NAVS.get(membership.role.value, WORKSPACE_NAV)
    return [
        (endpoint, str(label))
        for endpoint, label, admin_only in entries
        if endpoint in current_app.view_functions and (membership.is_admin or not admin_only)
    ]


def _workspace_home(slug: str, role: Any) -> str:
    """Where a member lands in a workspace: the portal for buyers and facilities."""
    from flask import url_for

    from tenants.context import home_endpoint

    return url_for(home_endpoint(role), tenant_slug=slug)


def _nav_workspaces() -> list[Any]:
    """The signed-in person's workspaces for the switcher (read once per request)."""
    from tenants.context import my_workspaces

    return my_workspaces()


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)


def _security_headers(response: Any) -> Any:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if _settings().production:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def _settings() -> Settings:
    from flask import current_app

    settings: Settings = current_app.extensions["renkei_settings"]
    return settings
