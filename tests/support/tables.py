"""Fast cleaning between tests, and snapshots of the common fixtures' rows.

Most tests leave only a handful of tables with rows, so cleaning empties just those (one probe
finds them): on PostgreSQL each table truncated costs new files for it and its indexes.

The ``world`` and ``samples`` fixtures are built once through the app's own services; later
tests get the same rows copied back in with a few multi-row INSERTs (see ``Snapshot``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Table, func, select, text
from sqlalchemy.engine import Connection

from app.db import Base


class Tables:
    """Every table of the app's schema, in an order that respects foreign keys."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ordered: list[Table] = list(Base.metadata.sorted_tables)
        self.by_name = {table.name: table for table in self.ordered}
        self.postgresql = engine.dialect.name == "postgresql"
        self._probe = text(
            " UNION ALL ".join(
                f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM {t.name})"  # noqa: S608
                for t in self.ordered
            )
        )
        self.sequences: dict[str, str] = self._serial_sequences() if self.postgresql else {}
        # Fixtures' rows saved for copying back (conftest's ``world`` and ``samples``).
        self.saved: dict[str, Any] = {}

    def _serial_sequences(self) -> dict[str, str]:
        """Table → the sequence behind its id column (tables whose ids come from one)."""
        found: dict[str, str] = {}
        with self.engine.connect() as connection:
            for table in self.ordered:
                for column in table.primary_key.columns:
                    sequence = connection.execute(
                        text("SELECT pg_get_serial_sequence(:t, :c)"),
                        {"t": table.name, "c": column.name},
                    ).scalar()
                    if sequence:
                        found[table.name] = sequence
        return found

    def non_empty(self, connection: Connection) -> set[str]:
        return {row[0] for row in connection.execute(self._probe)}

    def empty(self, connection: Connection, names: set[str]) -> None:
        """Empty the named tables and restart every id sequence. On PostgreSQL with TRUNCATE,
        not DELETE: a fresh heap keeps rows in the order they were written, as in a new
        database, where DELETE lets later rows reuse the space of deleted ones."""
        ordered = [table.name for table in reversed(self.ordered) if table.name in names]
        if self.postgresql:
            if ordered:
                connection.execute(text(f"TRUNCATE {', '.join(ordered)} CASCADE"))
            # Every sequence, as a TRUNCATE of every table did: an insert rolled back in an
            # empty table still moved its sequence on.
            restarts = ", ".join(f"setval('{s}', 1, false)" for s in self.sequences.values())
            connection.execute(text(f"SELECT {restarts}"))
            return
        for name in ordered:
            connection.execute(self.by_name[name].delete())


@dataclass
class Snapshot:
    """Every row of a database state built from empty, to be copied back into an empty one."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def take(cls, tables: Tables, connection: Connection) -> Snapshot:
        snapshot = cls()
        for name in tables.non_empty(connection):
            table = tables.by_name[name]
            ordered = select(table).order_by(*table.primary_key.columns)
            snapshot.rows[name] = [dict(row) for row in connection.execute(ordered).mappings()]
        return snapshot

    def restore(self, tables: Tables, connection: Connection) -> None:
        for table in tables.ordered:
            if table.name in self.rows:
                connection.execute(table.insert(), self.rows[table.name])
        for name, sequence in tables.sequences.items():
            if name in self.rows:
                table = tables.by_name[name]
                (id_column,) = table.primary_key.columns
                connection.execute(select(func.setval(sequence, func.max(id_column))))
