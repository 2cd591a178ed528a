"""Command line: `flask --app wsgi` db-upgrade, demo, grant-app-role, support-user, citus-sql,
report-summaries."""

from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy import create_engine, text

from app import migrate


def register_cli(app: Flask) -> None:
    @app.cli.command("db-upgrade")
    @click.option("--revision", default="head")
    def db_upgrade(revision: str) -> None:
        """Apply migrations (as the schema owner: MIGRATION_DATABASE_URL)."""
        migrate.upgrade(current_app.extensions["renkei_settings"].migration_database_url, revision)
        click.echo(f"database at {revision}")

    @app.cli.command("db-downgrade")
    @click.argument("revision")
    def db_downgrade(revision: str) -> None:
        """Undo migrations down to REVISION."""
        migrate.downgrade(
            current_app.extensions["renkei_settings"].migration_database_url, revision
        )

    @app.cli.command("grant-app-role")
    @click.argument("role")
    def grant_app_role(role: str) -> None:
        """PostgreSQL: let ROLE (owning no tables) read and write rows under RLS."""
        url = current_app.extensions["renkei_settings"].migration_database_url
        engine = create_engine(url)
        with engine.begin() as connection:
            for statement in migrate.app_role_grants(role):
                connection.execute(text(statement))
        engine.dispose()
        click.echo(f"granted row access to {role}")

    @app.cli.command("citus-sql")
    def citus_sql() -> None:
        """Print the SQL that distributes the schema on Citus by tenant_id (infra/RUNBOOK.md)."""
        import app.models  # noqa: F401  (every table on the metadata)
        from app.db import Base
        from tenants.citus import distribution_sql

        click.echo(distribution_sql(Base.metadata), nl=False)

    @app.cli.command("report-summaries")
    @click.option("--check", is_flag=True, help="Only list the rows that differ from the records.")
    def report_summaries(check: bool) -> None:
        """Rebuild the report's monthly summaries of every workspace from the records (after
        rows were written around the app, e.g. a hand-made SQL fix); --check only compares."""
        from app.reports import summaries

        engine = create_engine(current_app.extensions["renkei_settings"].migration_database_url)
        with engine.begin() as connection:
            if check:
                found = summaries.differences(connection)
                for line in found:
                    click.echo(line)
                click.echo(f"{len(found)} summary rows differ from the records")
            else:
                summaries.rebuild(connection)
                click.echo("report summaries rebuilt")
        engine.dispose()
        if check and found:
            raise SystemExit(1)

    @app.cli.command("demo")
    def demo() -> None:
        """Load the demo workspaces (idempotent) and print the demo logins."""
        from app.demo import DEMO_LOGINS, DEMO_PASSWORD, load_demo
        from app.extensions import db

        with db.new_session() as session:
            created = load_demo(session)
        click.echo("demo data: " + (", ".join(created) if created else "already loaded"))
        click.echo(f"demo logins (password: {DEMO_PASSWORD}):")
        for email, role in DEMO_LOGINS:
            click.echo(f"  {email:<28} {role}")

    _register_support_cli(app)


def _register_support_cli(app: Flask) -> None:
    @app.cli.command("support-user")
    @click.argument("email")
    @click.option("--name", default="", help="Name of a new account.")
    @click.option(
        "--region",
        "regions",
        multiple=True,
        help="Prefecture code the agent supports (repeat for several), e.g. --region 22.",
    )
    @click.option("--disable", is_flag=True, help="Take the support access away.")
    def support_user(email: str, name: str, regions: tuple[str, ...], disable: bool) -> None:
        """Create or update a platform support account scoped to prefectures.

        A new account needs --name and asks for a password. Support accounts are not members
        of any workspace: they open the workspaces of their prefectures read-only.
        """
        from app.auth.forms import normalise_email
        from app.auth.passwords import password_problem
        from app.auth.service import create_user, find_user_by_email
        from app.extensions import db
        from tenants import support

        email = normalise_email(email)
        with db.new_session() as session:
            user = find_user_by_email(session, email)
            if disable:
                if user is None or not support.disable_agent(session, user):
                    raise click.ClickException(f"{email} has no active support access")
                session.commit()
                click.echo(f"support access of {email} disabled")
                return
            try:
                codes = support.check_regions(regions)
            except support.SupportRuleBroken as exc:
                raise click.ClickException(str(exc)) from exc
            if user is None:
                if not name.strip():
                    raise click.ClickException("a new account needs --name")
                password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
                problem = password_problem(password, email)
                if problem is not None:
                    raise click.ClickException(problem)
                user = create_user(session, email, name.strip(), password)
            support.save_agent(session, user, codes)
            session.commit()
        click.echo(f"{email}: support staff for prefectures {', '.join(codes)}")
