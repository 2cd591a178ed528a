"""Imports and exports: what the check needs from the workspace, the write of checked rows in
one transaction, streamed exports, and the uploads kept between preview and confirm.

No Flask request or ``g`` here: views pass in the session (already bound to the workspace), the
workspace id, the acting user and the upload folder.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.buyers.models import Buyer
from app.catalogs.models import Capability, DifficultyLevel, LostReason
from app.deals.models import OPEN_STAGES, Deal, DealCapability
from app.deals.service import furthest_stage
from app.facilities.models import Facility, FacilityCapability, FacilityWage
from app.imports import engine
from app.imports.engine import EMPTY, Cell, Column, Lookups, Outcome, Spec
from app.imports.specs import SPECS
from app.matching.models import Assignment
from app.orders.models import Order, OrderMonth
from tenants.isolation import reserve_ids, use_tenant
from tenants.models import STAFF_ROLES, Membership, MembershipStatus

MODELS: Final[dict[str, Any]] = {
    "facilities": Facility,
    "buyers": Buyer,
    "deals": Deal,
    "orders": Order,
    "order_months": OrderMonth,
    "facility_wages": FacilityWage,
    "assignments": Assignment,
}
EXPORT_BATCH: Final = 1000
IN_CHUNK: Final = 500
UPLOAD_MAX_AGE: Final = 3600.0  # seconds an upload waits for its confirmation
TOKEN_PATTERN: Final = re.compile(r"[0-9a-f]{32}")


def active_counts(session: Session) -> dict[str, int]:
    """Records of each kind that are not archived: one statement per kind."""
    counts = {}
    for kind, model in MODELS.items():
        statement = select(func.count()).select_from(model)
        if hasattr(model, "archived_at"):
            statement = statement.where(model.archived_at.is_(None))
        counts[kind] = int(session.scalar(statement) or 0)
    return counts


# --- what the check needs ----------------------------------------------------------------------


def _names(rows: Iterable[Any]) -> dict[str, list[tuple[int, bool]]]:
    found: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for record_id, name, archived_at in rows:
        found[engine.normalize(name)].append((record_id, archived_at is not None))
    return dict(found)


def _history_lookups(session: Session, kind: str) -> Lookups:
    """Orders, order months, wages and assignments: the names and numbers they refer to."""
    lookups = Lookups()
    if kind in ("facility_wages", "assignments"):
        lookups.facilities = _names(
            session.execute(select(Facility.id, Facility.name, Facility.archived_at))
        )
    if kind in ("orders", "order_months", "assignments"):
        orders = session.execute(
            select(Order.id, Order.title, Order.archived_at, Order.deal_id)
        ).all()
        lookups.order_ids = frozenset(order_id for order_id, *_rest in orders)
        lookups.orders = _names(
            (order_id, title, archived) for order_id, title, archived, _d in orders
        )
        lookups.deal_orders = {deal: order_id for order_id, _t, _a, deal in orders if deal}
    if kind == "orders":
        lookups.buyers = _names(session.execute(select(Buyer.id, Buyer.name, Buyer.archived_at)))
        lookups.deal_ids = frozenset(session.scalars(select(Deal.id)))
    return lookups


HISTORY_KINDS: Final = ("orders", "order_months", "facility_wages", "assignments")


def load_lookups(session: Session, kind: str) -> Lookups:
    """Everything the rules of ``kind`` look up, in a fixed number of statements."""
    if kind in HISTORY_KINDS:
        return _history_lookups(session, kind)
    lookups = Lookups()
    if kind == "buyers":
        lookups.records = _names(session.execute(select(Buyer.id, Buyer.name, Buyer.archived_at)))
        return lookups
    lookups.capabilities = {
        engine.normalize(name): capability_id
        for capability_id, name in session.execute(select(Capability.id, Capability.name))
    }
    lookups.difficulty_levels = frozenset(session.scalars(select(DifficultyLevel.level)))
    if kind == "facilities":
        lookups.records = _names(
            session.execute(select(Facility.id, Facility.name, Facility.archived_at))
        )
        return lookups
    lookups.deal_owners = {
        deal_id: owner_id for deal_id, owner_id in session.execute(select(Deal.id, Deal.owner_id))
    }
    lookups.record_ids = frozenset(lookups.deal_owners)
    lookups.buyers = _names(session.execute(select(Buyer.id, Buyer.name, Buyer.archived_at)))
    lookups.lost_reasons = {
        engine.normalize(label): (reason_id, label)
        for reason_id, label in session.execute(
            select(LostReason.id, LostReason.label).order_by(LostReason.sort_order, LostReason.id)
        )
    }
    for membership_id, email, status in session.execute(
        select(Membership.id, User.email, Membership.status)
        .join(User, User.id == Membership.user_id)
        .where(Membership.role.in_(list(STAFF_ROLES)))
    ):
        if status == MembershipStatus.ACTIVE:
            lookups.members[email.lower()] = membership_id
        else:
            lookups.former_members[email.lower()] = membership_id
    return lookups


def check_upload(session: Session, kind: str, data: bytes, encoding: str | None = None) -> Outcome:
    """Read and check a file against the workspace. Raises ``engine.Problem`` for the file."""
    table = engine.read_table(data, encoding)
    outcome = engine.check(SPECS[kind], table, load_lookups(session, kind))
    if SPECS[kind].identity is not None:
        _match_identities(session, kind, outcome)
    return outcome


def _match_identities(session: Session, kind: str, outcome: Outcome) -> None:
    """Rows whose identity (order and month, facility and year, ...) names an existing
    record update it. Only the records the file names are read, a chunk at a time."""
    identity = SPECS[kind].identity
    assert identity is not None
    keys = {row.row: identity(row) for row in outcome.rows}
    owner: Any
    columns: tuple[Any, ...]
    if kind == "facility_wages":
        owner, columns = (
            FacilityWage.facility_id,
            (FacilityWage.facility_id, FacilityWage.fiscal_year),
        )
        model: Any = FacilityWage
        wanted = sorted({key[0] for key in keys.values() if key is not None})
    elif kind == "order_months":
        owner, columns = OrderMonth.order_id, (OrderMonth.order_id, OrderMonth.month)
        model = OrderMonth
        wanted = sorted({key[0] for key in keys.values() if key is not None})
    else:
        owner = Assignment.order_id
        columns = (Assignment.facility_id, Assignment.order_id, Assignment.month)
        model = Assignment
        wanted = sorted({key[1] for key in keys.values() if key is not None})
    existing: dict[Any, int] = {}
    for chunk in _chunks(wanted):
        for record_id, *values in session.execute(
            select(model.id, *columns).where(owner.in_(chunk)).order_by(model.id)
        ):
            existing.setdefault(tuple(values), record_id)
    for row in outcome.rows:
        key = keys[row.row]
        if key is not None:
            row.target_id = existing.get(key)


# --- writing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int


def _chunks(items: Sequence[int], size: int = IN_CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _assign(
    obj: Any, columns: Sequence[Column], values: dict[str, Any], resolved: dict[str, Any]
) -> None:
    for attr, value in resolved.items():  # what the rules worked out (e.g. order_id)
        setattr(obj, attr, value)
    for column in columns:
        value = values.get(column.field, EMPTY)
        if value is EMPTY:
            if column.blank is EMPTY:
                continue  # unchanged (a new record keeps the model's default)
            value = column.blank
        setattr(obj, column.target or column.field, value)


FLUSH_CHUNK = 1_000  # rows per flush, so progress can be shown on long imports


def apply(
    session: Session,
    outcome: Outcome,
    tenant_id: int,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Write the checked rows: new records in bulk (ids reserved in one statement), updates
    on the matched records, capabilities replaced where the column is in the file. Flushed
    in chunks of rows (``progress`` is told how many rows are written) inside the caller's
    transaction: the caller commits, or rolls back and nothing is half-written."""
    if not outcome.ok:
        raise ValueError("an outcome with errors cannot be imported")
    spec = outcome.spec
    model = MODELS[spec.kind]
    present = outcome.present
    plain = [c for c in present if c.target is not None]
    has_capabilities = any(c.field == "capabilities" for c in present)

    updates = [row for row in outcome.rows if row.target_id is not None]
    creates = [row for row in outcome.rows if row.target_id is None]
    existing: dict[int, Any] = {}
    for chunk in _chunks([row.target_id for row in updates if row.target_id is not None]):
        for obj in session.scalars(select(model).where(model.id.in_(chunk))):
            existing[obj.id] = obj

    # Deals: the stage before the import, to know whose stage the file moves.
    stages_before = {obj.id: getattr(obj, "stage", None) for obj in existing.values()}
    new_objects: list[Any] = []
    if creates:
        last = reserve_ids(session, tenant_id, model.__tablename__, len(creates))
        first = last - len(creates) + 1
        for offset, row in enumerate(creates):
            obj = model(tenant_id=tenant_id, id=first + offset)
            _assign(obj, plain, row.values, row.resolved)
            row.target_id = obj.id
            new_objects.append(obj)
    for row in updates:
        assert row.target_id is not None
        _assign(existing[row.target_id], plain, row.values, row.resolved)

    if spec.kind == "deals":
        for obj in (*new_objects, *existing.values()):
            if obj.stage is not None and obj.stage in OPEN_STAGES:
                obj.closed_on = None
                obj.lost_reason_id = None
                # A deal the file opens or moves has reached at least the stage it is at.
                if stages_before.get(obj.id, "new") != obj.stage:
                    obj.furthest_stage = furthest_stage(obj.furthest_stage, obj.stage)

    links: list[Any] = []
    if has_capabilities and spec.kind in ("facilities", "deals"):
        links = _replace_capabilities(session, spec, outcome, set(existing))
    _write(session, len(updates), new_objects, links, progress or (lambda _done: None))
    return ImportResult(created=len(creates), updated=len(updates))


def _write(
    session: Session,
    updated: int,
    new_objects: list[Any],
    links: list[Any],
    progress: Callable[[int], None],
) -> None:
    session.flush()  # the updates
    written = updated
    for start in range(0, len(new_objects), FLUSH_CHUNK):
        chunk = new_objects[start : start + FLUSH_CHUNK]
        session.add_all(chunk)
        session.flush()
        written += len(chunk)
        progress(written)
    session.add_all(links)
    session.flush()
    progress(written)


def _replace_capabilities(
    session: Session, spec: Spec, outcome: Outcome, updated_ids: set[int]
) -> list[Any]:
    """New link rows to add; links no longer listed are removed, levels updated."""
    if spec.kind == "facilities":
        link_model: Any = FacilityCapability
        owner = "facility_id"
    else:
        link_model = DealCapability
        owner = "deal_id"
    current: dict[int, dict[int, Any]] = defaultdict(dict)
    for chunk in _chunks(sorted(updated_ids)):
        owner_column = getattr(link_model, owner)
        for link in session.scalars(select(link_model).where(owner_column.in_(chunk))):
            current[getattr(link, owner)][link.capability_id] = link
    added: list[Any] = []
    for row in outcome.rows:
        wanted = row.values.get("capabilities", EMPTY)
        if wanted is EMPTY:
            wanted = ()
        assert row.target_id is not None
        have = current.get(row.target_id, {})
        wanted_ids = {capability_id for capability_id, _level in wanted}
        for capability_id, link in have.items():
            if capability_id not in wanted_ids:
                session.delete(link)
        for capability_id, level in wanted:
            link = have.get(capability_id)
            if link is None:
                values = {owner: row.target_id, "capability_id": capability_id}
                if link_model is FacilityCapability:
                    values["proficiency"] = level or 1
                added.append(link_model(**values))
            elif level is not None and link_model is FacilityCapability:
                link.proficiency = level
    return added


# --- reading back (exports) --------------------------------------------------------------------


def _batches(session: Session, statement: Any, model: Any) -> Iterator[list[Any]]:
    """Keyset pages of ``EXPORT_BATCH`` rows by id: memory stays flat, each page one query."""
    last_id = 0
    while True:
        rows = list(
            session.execute(
                statement.where(model.id > last_id).order_by(model.id).limit(EXPORT_BATCH)
            )
        )
        if not rows:
            return
        yield rows
        if len(rows) < EXPORT_BATCH:
            return
        last_id = rows[-1][0].id


def _capability_names(
    session: Session, link_model: Any, owner: str, ids: Sequence[int]
) -> dict[int, list[tuple[str, int | None]]]:
    owner_column = getattr(link_model, owner)
    level = link_model.proficiency if link_model is FacilityCapability else None
    columns = [owner_column, Capability.name] + ([level] if level is not None else [])
    query = (
        select(*columns)
        .join(Capability, Capability.id == link_model.capability_id)
        .where(owner_column.in_(ids))
        .order_by(owner_column, Capability.sort_order, Capability.name)
    )
    found: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    for row in session.execute(query):
        found[row[0]].append((row[1], row[2] if level is not None else None))
    return found


def _filtered(statement: Any, model: Any, include_archived: bool) -> Any:
    if include_archived or not hasattr(model, "archived_at"):
        return statement
    return statement.where(model.archived_at.is_(None))


def _history_records(
    session: Session, kind: str, include_archived: bool
) -> Iterator[dict[str, Any]]:
    """Orders, order months, wages and assignments as the import reads them."""
    if kind == "orders":
        statement = _filtered(
            select(Order, Buyer.name).join(Buyer, Buyer.id == Order.buyer_id),
            Order,
            include_archived,
        )
        for batch in _batches(session, statement, Order):
            for order, buyer_name in batch:
                yield {**_columns_of(order), "buyer": buyer_name, "deal": order.deal_id}
        return
    if kind == "order_months":
        statement = _filtered(
            select(OrderMonth, Order.title).join(Order, Order.id == OrderMonth.order_id),
            Order,
            include_archived,
        )
        for batch in _batches(session, statement, OrderMonth):
            for row, title in batch:
                yield {**_columns_of(row), "order": row.order_id, "order_title": title}
        return
    if kind == "facility_wages":
        statement = _filtered(
            select(FacilityWage, Facility.name).join(
                Facility, Facility.id == FacilityWage.facility_id
            ),
            Facility,
            include_archived,
        )
        for batch in _batches(session, statement, FacilityWage):
            for wage, name in batch:
                yield {**_columns_of(wage), "facility": name}
        return
    statement = _filtered(
        select(Assignment, Facility.name, Order.title)
        .join(Facility, Facility.id == Assignment.facility_id)
        .join(Order, Order.id == Assignment.order_id),
        Order,
        include_archived,
    )
    for batch in _batches(session, statement, Assignment):
        for assignment, name, title in batch:
            yield {
                **_columns_of(assignment),
                "facility": name,
                "order": assignment.order_id,
                "order_title": title,
            }


def export_records(
    session: Session, kind: str, include_archived: bool = False
) -> Iterator[dict[str, Any]]:
    """Every record of ``kind`` as field → value, in id order, a batch at a time."""
    if kind in HISTORY_KINDS:
        yield from _history_records(session, kind, include_archived)
        return
    if kind == "buyers":
        for batch in _batches(session, _filtered(select(Buyer), Buyer, include_archived), Buyer):
            for (buyer,) in batch:
                yield _columns_of(buyer)
        return
    if kind == "facilities":
        statement = _filtered(select(Facility), Facility, include_archived)
        for batch in _batches(session, statement, Facility):
            ids = [facility.id for (facility,) in batch]
            capabilities = _capability_names(session, FacilityCapability, "facility_id", ids)
            for (facility,) in batch:
                values = _columns_of(facility)
                values["capabilities"] = capabilities.get(facility.id, ())
                yield values
        return
    statement = _filtered(
        select(Deal, Buyer.name, LostReason.label, User.email)
        .join(Buyer, Buyer.id == Deal.buyer_id)
        .outerjoin(LostReason, LostReason.id == Deal.lost_reason_id)
        .outerjoin(Membership, Membership.id == Deal.owner_id)
        .outerjoin(User, User.id == Membership.user_id),
        Deal,
        include_archived,
    )
    for batch in _batches(session, statement, Deal):
        ids = [deal.id for deal, *_rest in batch]
        capabilities = _capability_names(session, DealCapability, "deal_id", ids)
        for deal, buyer_name, lost_reason, owner_email in batch:
            values = _columns_of(deal)
            values.update(
                buyer=buyer_name,
                lost_reason=lost_reason,
                owner=owner_email,
                capabilities=capabilities.get(deal.id, ()),
            )
            yield values


def _columns_of(obj: Any) -> dict[str, Any]:
    return {attr.key: getattr(obj, attr.key) for attr in obj.__mapper__.column_attrs}


def export_table(
    session: Session, kind: str, include_archived: bool = False
) -> Iterator[Sequence[Cell]]:
    """The header row, then one row per record, as the import reads them."""
    spec = SPECS[kind]
    yield engine.header_row(spec)
    for values in export_records(session, kind, include_archived):
        yield engine.values_row(spec, values)


def export_stream(
    bind: Engine,
    tenant_id: int,
    user_id: int,
    kind: str,
    fmt: str,
    sheet_title: str,
    include_archived: bool = False,
) -> Iterator[bytes]:
    """The export file's bytes, produced while the response is sent.

    It runs after the request has ended, so it reads through its own session, opened on the
    first chunk and closed after the last (or when the download is abandoned): a response that
    is never read holds nothing.
    """
    with Session(bind=bind) as session:
        use_tenant(session, tenant_id, user_id)
        rows = export_table(session, kind, include_archived)
        if fmt == "xlsx":
            yield from xlsx_chunks(rows, sheet_title)
        else:
            yield from csv_bytes(rows, "utf-8" if fmt == "csv" else "cp932")


# Characters Python's CP932 codec refuses although Japanese text uses them every day: map them
# to the CP932 look-alikes Excel and Windows use (〜 WAVE DASH → ～ and so on).
CP932_LOOKALIKES: Final = str.maketrans(
    {
        "\u301c": "\uff5e",  # 〜
        "\u2016": "\u2225",  # ‖
        "\u2212": "\uff0d",  # −
        "\u00a2": "\uffe0",  # ¢
        "\u00a3": "\uffe1",  # £
        "\u00ac": "\uffe2",  # ¬
        "\u2014": "\u2015",  # —
    }
)


def csv_bytes(rows: Iterable[Sequence[Cell]], encoding: str) -> Iterator[bytes]:
    """Encoded CSV, streamed: UTF-8 with a BOM (Excel needs it), or CP932 where characters
    it cannot hold become "?"."""
    if encoding == "utf-8":
        yield b"\xef\xbb\xbf"
        for line in engine.csv_lines(rows):
            yield line.encode("utf-8")
        return
    for line in engine.csv_lines(rows):
        yield line.translate(CP932_LOOKALIKES).encode("cp932", errors="replace")


def xlsx_chunks(rows: Iterable[Sequence[Cell]], title: str) -> Iterator[bytes]:
    """An .xlsx built with openpyxl's write-only mode (rows go to a temporary file, not to
    memory), then streamed from disk."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)

    def cell(value: Cell) -> Any:
        if not isinstance(value, str):
            return value
        cleaned: str = ILLEGAL_CHARACTERS_RE.sub("", value)
        if cleaned.startswith("="):
            text_cell = WriteOnlyCell(sheet, value=cleaned)
            text_cell.data_type = "s"  # text, never a formula
            return text_cell
        return cleaned

    for row in rows:
        sheet.append([cell(value) for value in row])
    handle, name = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    path = Path(name)
    try:
        workbook.save(path)
        with path.open("rb") as stream:
            while chunk := stream.read(64 * 1024):
                yield chunk
    finally:
        path.unlink(missing_ok=True)


# --- uploads kept between preview and confirm --------------------------------------------------


@dataclass
class Upload:
    token: str
    kind: str
    filename: str
    user_id: int
    uploaded_at: float
    data_path: Path

    def read(self) -> bytes:
        return self.data_path.read_bytes()


class UploadStore:
    """Uploaded files wait on disk, one folder per workspace: ``<root>/<tenant id>/<token>``.
    Never in the session cookie. Only the person who uploaded a file can see or import it,
    and only for an hour."""

    def __init__(self, root: Path, tenant_id: int, now: float | None = None) -> None:
        self.root = root
        self.folder = root / str(int(tenant_id))
        self.now = time.time() if now is None else now

    def _paths(self, token: str) -> tuple[Path, Path, Path]:
        return (
            self.folder / f"{token}.upload",
            self.folder / f"{token}.json",
            self.folder / f"{token}.claimed",
        )

    def save(self, kind: str, filename: str, user_id: int, data: bytes) -> str:
        purge_expired(self.root, self.now)
        self.folder.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(16)
        data_path, meta_path, _claimed = self._paths(token)
        data_path.write_bytes(data)
        meta = {
            "kind": kind,
            "filename": filename[:200],
            "user_id": user_id,
            "uploaded_at": self.now,
        }
        meta_path.write_text(json.dumps(meta), encoding="utf-8")
        return token

    def load(self, token: str, kind: str, user_id: int) -> Upload | None:
        """The waiting upload, or None if unknown, expired, someone else's or of another kind."""
        if not TOKEN_PATTERN.fullmatch(token):
            return None
        data_path, meta_path, _claimed = self._paths(token)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if self.now - float(meta["uploaded_at"]) > UPLOAD_MAX_AGE:
            self._remove(token)
            return None
        if meta["kind"] != kind or meta["user_id"] != user_id or not data_path.exists():
            return None
        return Upload(
            token=token,
            kind=kind,
            filename=meta["filename"],
            user_id=user_id,
            uploaded_at=float(meta["uploaded_at"]),
            data_path=data_path,
        )

    def claim(self, token: str, kind: str, user_id: int) -> Upload | None:
        """Take the upload for importing: of two concurrent confirmations only one gets it."""
        upload = self.load(token, kind, user_id)
        if upload is None:
            return None
        _data, _meta, claimed = self._paths(token)
        try:
            upload.data_path.rename(claimed)
        except FileNotFoundError:
            return None
        upload.data_path = claimed
        return upload

    def release(self, upload: Upload) -> None:
        """Give a claimed upload back (the import did not happen)."""
        data_path, _meta, claimed = self._paths(upload.token)
        if claimed.exists():
            claimed.rename(data_path)
        upload.data_path = data_path

    def delete(self, upload: Upload) -> None:
        self._remove(upload.token)

    def _remove(self, token: str) -> None:
        for path in self._paths(token):
            path.unlink(missing_ok=True)


def purge_expired(root: Path, now: float | None = None) -> int:
    """Delete uploads older than an hour in every workspace's folder; returns how many files."""
    limit = (time.time() if now is None else now) - UPLOAD_MAX_AGE
    removed = 0
    if not root.is_dir():
        return 0
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
    return removed
