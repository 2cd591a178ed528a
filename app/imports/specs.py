"""The file formats: columns of facilities, buyers and deals, their rules and vocabularies.

Headers and the words in cells (就労継続支援B型, 受注, はい) are part of the file format, not of
the screen: they stay Japanese whatever language the screen is in, so a file made in one office
imports in any other. English field names are accepted as headers too. Pure, like the engine.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any, Final

from app.deals.models import DealStage, PricingBasis
from app.facilities.models import FacilityKind, FacilityStatus
from app.imports.engine import (
    EMPTY,
    N_,
    Cell,
    CellError,
    Column,
    ImportRow,
    Lookups,
    RowCheck,
    Spec,
    ValueType,
    boolean,
    choice,
    day,
    decimal,
    email,
    integer,
    match_name,
    names,
    normalize,
    parse_date,
    postal_code,
    prefecture,
    text,
    yen,
)
from app.orders.models import OrderStatus
from tenants.prefectures import PREFECTURES

AMBIGUOUS_NAME = N_(
    "Several existing records are named %(name)s. Give each a distinct name, then import again."
)
UNKNOWN_CAPABILITIES = N_(
    "Not in the capability catalogue: %(names)s. Add them to the catalogue first."
)
UNKNOWN_LEVEL = N_("Difficulty level %(level)s is not defined in this workspace.")
NO_SUCH_DEAL = N_(
    "There is no deal number %(id)s in this workspace. Leave the number empty to add a deal."
)
NO_SUCH_BUYER = N_("There is no buyer named %(name)s. Add or import the buyer first.")
AMBIGUOUS_BUYER = N_("Several buyers are named %(name)s. Give each a distinct name first.")
UNKNOWN_LOST_REASON = N_("Unknown lost reason. Use one of: %(choices)s.")
UNKNOWN_MEMBER = N_("No staff member of this workspace has this e-mail address.")
CLOSED_ON_NEEDED = N_("Enter the date the deal was won or lost.")
CLOSED_ON_OPEN = N_("Only won or lost deals have this date. Leave it empty or change the stage.")
CLOSED_BEFORE_OPENED = N_("This date is before the opening date.")
LOST_REASON_NOT_LOST = N_("A lost reason is only for lost deals.")
AMOUNT_MISMATCH = N_(
    "For a recurring deal the amount is the monthly amount × months (%(amount)s yen)."
)

FACILITY_KINDS: Final = {
    FacilityKind.TYPE_A.value: ("就労継続支援A型", "A型"),
    FacilityKind.TYPE_B.value: ("就労継続支援B型", "B型"),
    FacilityKind.LIFE_CARE.value: ("生活介護",),
    FacilityKind.MANUFACTURER.value: ("協力企業", "協力工場"),
    FacilityKind.OTHER.value: ("その他",),
}
FACILITY_STATUSES: Final = {
    FacilityStatus.PARTICIPATING.value: ("参加中", "参加"),
    FacilityStatus.PAUSED.value: ("休止中", "休止"),
    FacilityStatus.LEFT.value: ("退会", "退会済"),
}
DEAL_STAGES: Final = {
    DealStage.LEAD.value: ("リード",),
    DealStage.HEARING.value: ("ヒアリング",),
    DealStage.TRIAL.value: ("見学・トライアル", "トライアル", "見学"),
    DealStage.QUOTE.value: ("見積", "見積り", "見積もり"),
    DealStage.WON.value: ("受注",),
    DealStage.LOST.value: ("失注",),
}
OPEN_DEAL_STAGES: Final = {stage: names for stage, names in DEAL_STAGES.items() if stage in {
    DealStage.LEAD.value, DealStage.HEARING.value, DealStage.TRIAL.value, DealStage.QUOTE.value
}}  # fmt: skip

PRICING_BASES: Final = {
    PricingBasis.HOURLY.value: ("時間単価", "時給"),
    PricingBasis.PER_PIECE.value: ("個数単価", "出来高"),
}


def _capability_ids(check: RowCheck, lookups: Lookups, name: str) -> None:
    """Names → (capability id, level); unknown names are errors, never created."""
    wanted = check.values[name]
    unknown = [item for item, _level in wanted if normalize(item) not in lookups.capabilities]
    if unknown:
        check.error(name, UNKNOWN_CAPABILITIES, names="、".join(unknown))
        check.values[name] = EMPTY
        return
    check.values[name] = tuple(
        (lookups.capabilities[normalize(item)], level) for item, level in wanted
    )


def _difficulty(check: RowCheck, lookups: Lookups, name: str) -> None:
    level = check.values[name]
    if lookups.difficulty_levels and level not in lookups.difficulty_levels:
        check.error(name, UNKNOWN_LEVEL, level=level)


def _match_own_name(check: RowCheck, lookups: Lookups) -> None:
    if not check.has("name"):
        return
    name = check.values["name"]
    try:
        check.row.target_id = match_name(lookups.records.get(normalize(name), ()))
    except LookupError:
        check.error("name", AMBIGUOUS_NAME, name=name)


def facility_rules(check: RowCheck, lookups: Lookups) -> None:
    _match_own_name(check, lookups)
    if check.has("capabilities"):
        _capability_ids(check, lookups, "capabilities")
    if check.has("max_difficulty"):
        _difficulty(check, lookups, "max_difficulty")


def buyer_rules(check: RowCheck, lookups: Lookups) -> None:
    _match_own_name(check, lookups)


def deal_rules(check: RowCheck, lookups: Lookups) -> None:
    values = check.values
    if check.has("id"):
        if values["id"] in lookups.record_ids:
            check.row.target_id = values["id"]
        else:
            check.error("id", NO_SUCH_DEAL, id=values["id"])
    if check.has("buyer"):
        _buyer(check, lookups)
    if check.has("lost_reason"):
        found = lookups.lost_reasons.get(normalize(values["lost_reason"]))
        if found is None:
            labels = "、".join(label for _id, label in lookups.lost_reasons.values())
            check.error("lost_reason", UNKNOWN_LOST_REASON, choices=labels)
            values["lost_reason"] = EMPTY
        else:
            values["lost_reason"] = found[0]
    if check.has("owner"):
        _owner(check, lookups)
    if check.has("capabilities"):
        _capability_ids(check, lookups, "capabilities")
    if check.has("difficulty_level"):
        _difficulty(check, lookups, "difficulty_level")
    _deal_stage_rules(check)
    _recurring_amount(check)


def _owner(check: RowCheck, lookups: Lookups) -> None:
    """An active staff member; someone who left only as the unchanged owner of the deal."""
    email = check.values["owner"].lower()
    owner_id = lookups.members.get(email)
    if owner_id is None:
        former = lookups.former_members.get(email)
        target = check.row.target_id
        if former is not None and target is not None and lookups.deal_owners.get(target) == former:
            owner_id = former
    if owner_id is None:
        check.error("owner", UNKNOWN_MEMBER)
    check.values["owner"] = EMPTY if owner_id is None else owner_id


def _buyer(check: RowCheck, lookups: Lookups) -> None:
    buyer = check.values["buyer"]
    check.values["buyer"] = EMPTY
    try:
        buyer_id = match_name(lookups.buyers.get(normalize(buyer), ()))
    except LookupError:
        check.error("buyer", AMBIGUOUS_BUYER, name=buyer)
        return
    if buyer_id is None:
        check.error("buyer", NO_SUCH_BUYER, name=buyer)
        return
    check.values["buyer"] = buyer_id


def _deal_stage_rules(check: RowCheck) -> None:
    values = check.values
    is_new = not check.has("id")
    if check.has("stage"):
        stage: str | None = values["stage"]
    else:
        # A new deal without a stage starts as a lead; an existing one keeps its stage.
        stage = DealStage.LEAD.value if is_new else None
    if stage is not None:
        closed = stage in (DealStage.WON.value, DealStage.LOST.value)
        if closed and not check.has("closed_on") and (is_new or check.present("closed_on")):
            check.error("closed_on", CLOSED_ON_NEEDED)
        if not closed and check.has("closed_on"):
            check.error("closed_on", CLOSED_ON_OPEN)
        if stage != DealStage.LOST.value and check.has("lost_reason"):
            check.error("lost_reason", LOST_REASON_NOT_LOST)
    if (
        check.has("closed_on")
        and check.has("opened_on")
        and values["closed_on"] < values["opened_on"]
    ):
        check.error("closed_on", CLOSED_BEFORE_OPENED)


def _recurring_amount(check: RowCheck) -> None:
    values = check.values
    if not (check.has("recurring") and values["recurring"]):
        return
    if not (check.has("monthly_amount") and check.has("expected_months")):
        return
    expected = values["monthly_amount"] * values["expected_months"]
    if not check.has("amount") or values["amount"] == 0:
        values["amount"] = expected
    elif values["amount"] != expected:
        check.error("amount", AMOUNT_MISMATCH, amount=f"{expected:,}")


FACILITIES = Spec(
    kind="facilities",
    key="name",
    rules=facility_rules,
    columns=(
        Column("name", "事業所名", text(120), required=True, aliases=("名称",)),
        Column("kind", "種別", choice(FACILITY_KINDS, FacilityKind), required=True),
        Column("status", "状態", choice(FACILITY_STATUSES, FacilityStatus), blank=EMPTY),
        Column("postal_code", "郵便番号", postal_code()),
        Column("prefecture_code", "都道府県", prefecture(PREFECTURES)),
        Column("municipality", "市区町村", text(60)),
        Column("address", "住所", text(200)),
        Column("latitude", "緯度", decimal(-90, 90), blank=None),
        Column("longitude", "経度", decimal(-180, 180), blank=None),
        Column("contact_name", "担当者", text(100), aliases=("担当者名",)),
        Column("contact_phone", "電話", text(30), aliases=("電話番号",)),
        Column("contact_email", "メール", email(), aliases=("メールアドレス",)),
        Column("workers", "利用者数", integer(units=("人", "名")), blank=0),
        Column("hours_per_month", "月間作業可能時間", integer(units=("時間", "h")), blank=0),
        Column("pc_experience", "PC作業経験", boolean(), blank=False),
        Column("avg_monthly_wage", "平均工賃", yen(), blank=0, aliases=("平均工賃(月額)",)),
        Column("participating_since", "参加開始日", day(), blank=None),
        Column("max_difficulty", "対応できる業務難易度", integer(1, 10), blank=None),
        Column("capabilities", "能力", names(), attr=None, blank=()),
        Column("equipment", "設備", text(2000)),
        Column("certifications", "認証・資格", text(2000)),
        Column("notes", "備考", text(4000)),
    ),
)

BUYERS = Spec(
    kind="buyers",
    key="name",
    rules=buyer_rules,
    columns=(
        Column("name", "企業名", text(120), required=True, aliases=("発注企業名", "会社名")),
        Column("name_kana", "フリガナ", text(120), aliases=("ふりがな",)),
        Column("industry", "業種", text(60)),
        Column("postal_code", "郵便番号", postal_code()),
        Column("prefecture_code", "都道府県", prefecture(PREFECTURES)),
        Column("address", "住所", text(200)),
        Column("website", "ウェブサイト", text(200), aliases=("URL", "ホームページ")),
        Column("contact_name", "担当者", text(100), aliases=("担当者名",)),
        Column("contact_email", "メール", email(), aliases=("メールアドレス",)),
        Column("contact_phone", "電話", text(30), aliases=("電話番号",)),
        Column("notes", "備考", text(4000)),
        Column(
            "is_municipality", "自治体", boolean(), blank=False, aliases=("自治体（本市町村）",)
        ),
    ),
)

DEALS = Spec(
    kind="deals",
    key="id",
    rules=deal_rules,
    columns=(
        Column("id", "番号", integer(1), attr=None, blank=EMPTY, aliases=("商談番号",)),
        Column("title", "案件名", text(200), required=True, aliases=("商談名",)),
        Column("buyer", "発注企業", text(120), required=True, attr="buyer_id", aliases=("企業名",)),
        Column("stage", "段階", choice(DEAL_STAGES, DealStage), blank=EMPTY, aliases=("ステージ",)),
        Column("amount", "商談金額", yen(), blank=0, aliases=("金額",)),
        Column("opened_on", "商談開始日", day(), required=True, aliases=("開始日",)),
        Column("closed_on", "受注・失注日", day(), blank=None),
        Column("recurring", "継続案件", boolean(), blank=False),
        Column("monthly_amount", "月額", yen(), blank=None),
        Column(
            "expected_months", "見込み月数", integer(0, 1200, units=("か月", "ヶ月")), blank=None
        ),
        Column("difficulty_level", "業務難易度", integer(1, 10), blank=None),
        Column("volume", "数量", text(100)),
        Column("pricing_basis", "価格方式", choice(PRICING_BASES, PricingBasis), blank=None),
        Column("owner", "担当者メール", email(), attr="owner_id", blank=None),
        Column("next_action", "次のアクション", text(200)),
        Column("next_action_on", "次のアクション期日", day(), blank=None),
        Column("lost_reason", "失注理由", text(100), attr="lost_reason_id", blank=None),
        Column("lost_comment", "失注コメント", text(4000)),
        Column("capabilities", "必要な能力", names(), attr=None, blank=()),
        Column("description", "内容", text(4000)),
        Column(
            "furthest_stage",
            "到達段階",
            choice(OPEN_DEAL_STAGES, DealStage),
            blank=EMPTY,
            aliases=("最終到達段階",),
        ),
    ),
)

SPECS: Final = {spec.kind: spec for spec in (FACILITIES, BUYERS, DEALS)}


# --- the report's history: orders, their months, wages, assignments -------------------------
# A workspace moving from its spreadsheets brings past years in with these, so that the
# fiscal-year report has its figures from the first day.

NO_SUCH_ORDER = N_("There is no order number %(id)s in this workspace.")
NO_SUCH_ORDER_TITLE = N_("There is no order titled %(title)s. Import the orders first.")
AMBIGUOUS_ORDER = N_("Several orders are titled %(title)s. Use the order number (受注番号).")
ORDER_NEEDED = N_("Enter the order number (受注番号) or the order's title (件名).")
NO_SUCH_FACILITY = N_("There is no facility named %(name)s. Add or import the facility first.")
AMBIGUOUS_FACILITY = N_("Several facilities are named %(name)s. Give each a distinct name first.")
NO_SUCH_DEAL_FOR_ORDER = N_("There is no deal number %(id)s in this workspace.")
DEAL_HAS_ORDER = N_("Deal %(id)s already has an order (number %(order)s).")
ENDS_BEFORE_START = N_("The end date is before the start date.")
NOT_A_MONTH = N_("Enter a month like 2022-04, 2022/4 or 令和4年4月.")
NOT_A_FISCAL_YEAR = N_("Enter a fiscal year like 2022, 2022年度 or 令和4年度 (R4).")
HINT_MONTH = N_("2022-04, 2022/4, 2022年4月 or 令和4年4月 (a date counts as its month).")
HINT_FISCAL_YEAR = N_("2022, 2022年度, 令和4年度 or R4 (April to March).")
QUANTITY_NOT_POSITIVE = N_("The quantity must be more than 0.")

ORDER_STATUSES: Final = {
    OrderStatus.CONFIRMED.value: ("受注確定",),
    OrderStatus.IN_PROGRESS.value: ("作業中",),
    OrderStatus.DELIVERED.value: ("納品済",),
    OrderStatus.CLOSED.value: ("完了",),
    OrderStatus.CANCELLED.value: ("取消",),
}

_MONTH = re.compile(r"(\d{4})[-/.年](\d{1,2})月?")
_ERA_MONTH = re.compile(r"(令和|平成|R\.?|H\.?)(元|\d{1,2})[年./-](\d{1,2})月?")
_ERA_FIRST_YEAR: Final = {"令和": 2019, "R": 2019, "平成": 1989, "H": 1989}


def parse_month(cell: str) -> date:
    """The first day of a month: 2022-04, 2022/4, 2022年4月, 令和4年4月, R4.4, or a date."""
    value = "".join(unicodedata.normalize("NFKC", cell).split()).upper()
    for pattern, era in ((_MONTH, False), (_ERA_MONTH, True)):
        match = pattern.fullmatch(value)
        if match is None:
            continue
        if era:
            first = _ERA_FIRST_YEAR[match.group(1).rstrip(".")]
            year = first + (1 if match.group(2) == "元" else int(match.group(2))) - 1
            number = int(match.group(3))
        else:
            year, number = int(match.group(1)), int(match.group(2))
        if not 1 <= number <= 12:
            raise CellError(NOT_A_MONTH)
        return date(year, number, 1)
    try:
        return parse_date(cell).replace(day=1)
    except CellError:
        raise CellError(NOT_A_MONTH) from None


def month() -> ValueType:
    def write(value: Any) -> Cell:
        return value.strftime("%Y-%m") if isinstance(value, date) else None

    return ValueType(parse_month, write, HINT_MONTH)


_FISCAL_YEAR = re.compile(r"(\d{4})(?:年度)?")
_ERA_FISCAL_YEAR = re.compile(r"(令和|平成|R\.?|H\.?)(元|\d{1,2})(?:年度)?")


def parse_fiscal_year(cell: str) -> int:
    """2022, 2022年度, 令和4年度, R4, R.4年度 or H30 → 2022 (the year the fiscal year starts)."""
    value = "".join(unicodedata.normalize("NFKC", cell).split()).upper()
    western = _FISCAL_YEAR.fullmatch(value)
    if western:
        year = int(western.group(1))
    else:
        era = _ERA_FISCAL_YEAR.fullmatch(value)
        if era is None:
            raise CellError(NOT_A_FISCAL_YEAR)
        n = 1 if era.group(2) == "元" else int(era.group(2))
        year = _ERA_FIRST_YEAR[era.group(1).rstrip(".")] + n - 1
    if not 1989 <= year <= 2200:
        raise CellError(NOT_A_FISCAL_YEAR)
    return year


def fiscal_year() -> ValueType:
    def write(value: Any) -> Cell:
        return None if value is None else int(value)

    return ValueType(parse_fiscal_year, write, HINT_FISCAL_YEAR)


def _one(
    check: RowCheck,
    candidates: dict[str, list[tuple[int, bool]]],
    field_name: str,
    missing: str,
    ambiguous: str,
    **params: Any,
) -> int | None:
    try:
        found = match_name(candidates.get(normalize(check.values[field_name]), ()))
    except LookupError:
        check.error(field_name, ambiguous, **params)
        return None
    if found is None:
        check.error(field_name, missing, **params)
    return found


def _order_reference(check: RowCheck, lookups: Lookups) -> None:
    """The order a row belongs to: by its number, else by its title (which must be unique)."""
    order_id: int | None = None
    if check.has("order"):
        order_id = check.values["order"]
        if order_id not in lookups.order_ids:
            check.error("order", NO_SUCH_ORDER, id=order_id)
            order_id = None
    elif check.has("order_title"):
        title = check.values["order_title"]
        order_id = _one(
            check, lookups.orders, "order_title", NO_SUCH_ORDER_TITLE, AMBIGUOUS_ORDER, title=title
        )
    else:
        check.error("order" if check.present("order") else "order_title", ORDER_NEEDED)
    if order_id is not None:
        check.row.resolved["order_id"] = order_id


def _facility_reference(check: RowCheck, lookups: Lookups) -> None:
    if not check.has("facility"):
        return
    name = check.values["facility"]
    found = _one(
        check, lookups.facilities, "facility", NO_SUCH_FACILITY, AMBIGUOUS_FACILITY, name=name
    )
    if found is not None:
        check.row.resolved["facility_id"] = found


def order_rules(check: RowCheck, lookups: Lookups) -> None:
    values = check.values
    if check.has("id"):
        if values["id"] in lookups.order_ids:
            check.row.target_id = values["id"]
        else:
            check.error("id", NO_SUCH_ORDER, id=values["id"])
    if check.has("buyer"):
        _buyer(check, lookups)
    if check.has("deal"):
        deal_id = values["deal"]
        owner = lookups.deal_orders.get(deal_id)
        if deal_id not in lookups.deal_ids:
            check.error("deal", NO_SUCH_DEAL_FOR_ORDER, id=deal_id)
        elif owner is not None and owner != check.row.target_id:
            check.error("deal", DEAL_HAS_ORDER, id=deal_id, order=owner)
    if check.has("starts_on") and check.has("ends_on") and values["ends_on"] < values["starts_on"]:
        check.error("ends_on", ENDS_BEFORE_START)


def order_month_identity(row: ImportRow) -> Any:
    order_id, day = row.resolved.get("order_id"), row.values.get("month", EMPTY)
    return None if order_id is None or day is EMPTY else (order_id, day)


def order_month_rules(check: RowCheck, lookups: Lookups) -> None:
    _order_reference(check, lookups)


def wage_identity(row: ImportRow) -> Any:
    facility_id, year = row.resolved.get("facility_id"), row.values.get("fiscal_year", EMPTY)
    return None if facility_id is None or year is EMPTY else (facility_id, year)


def wage_rules(check: RowCheck, lookups: Lookups) -> None:
    _facility_reference(check, lookups)


def assignment_identity(row: ImportRow) -> Any:
    facility_id, order_id = row.resolved.get("facility_id"), row.resolved.get("order_id")
    day = row.values.get("month", EMPTY)
    if facility_id is None or order_id is None or day is EMPTY:
        return None
    return (facility_id, order_id, day)


def assignment_rules(check: RowCheck, lookups: Lookups) -> None:
    _facility_reference(check, lookups)
    _order_reference(check, lookups)
    if check.has("quantity") and check.values["quantity"] <= 0:
        check.error("quantity", QUANTITY_NOT_POSITIVE)


ORDERS = Spec(
    kind="orders",
    key="id",
    rules=order_rules,
    columns=(
        Column("id", "受注番号", integer(1), attr=None, blank=EMPTY, aliases=("番号",)),
        Column("title", "件名", text(200), required=True, aliases=("受注名", "案件名")),
        Column("buyer", "発注企業", text(120), required=True, attr="buyer_id", aliases=("企業名",)),
        Column("deal", "商談番号", integer(1), attr="deal_id", blank=None),
        Column("status", "状態", choice(ORDER_STATUSES, OrderStatus), blank=EMPTY),
        Column("confirmed_on", "受注確定日", day(), required=True, aliases=("受注日",)),
        Column("starts_on", "開始日", day(), blank=None),
        Column("ends_on", "終了日", day(), blank=None),
        Column("assigned_on", "初回アサイン日", day(), blank=None, aliases=("アサイン日",)),
        Column("notes", "備考", text(4000)),
    ),
)

ORDER_MONTHS = Spec(
    kind="order_months",
    key="month",
    rules=order_month_rules,
    identity=order_month_identity,
    columns=(
        Column("order", "受注番号", integer(1), attr=None, blank=EMPTY),
        Column("order_title", "件名", text(200), attr=None, blank=EMPTY, aliases=("受注名",)),
        Column("month", "月", month(), required=True, aliases=("年月", "対象月")),
        Column(
            "forecast_amount", "発注予測額", yen(), blank=None, aliases=("予測額", "フォーキャスト")
        ),
        Column("actual_amount", "実績額", yen(), blank=None, aliases=("発注額", "実績")),
    ),
)

FACILITY_WAGES = Spec(
    kind="facility_wages",
    key="fiscal_year",
    rules=wage_rules,
    identity=wage_identity,
    columns=(
        Column("facility", "事業所名", text(120), required=True, attr=None),
        Column("fiscal_year", "年度", fiscal_year(), required=True),
        Column("avg_monthly_wage", "平均工賃(月額)", yen(), required=True, aliases=("平均工賃",)),
        Column("workers", "利用者数", integer(units=("人", "名")), blank=None),
    ),
)

ASSIGNMENTS = Spec(
    kind="assignments",
    key="month",
    rules=assignment_rules,
    identity=assignment_identity,
    columns=(
        Column("facility", "事業所名", text(120), required=True, attr=None),
        Column("order", "受注番号", integer(1), attr=None, blank=EMPTY),
        Column("order_title", "件名", text(200), attr=None, blank=EMPTY, aliases=("受注名",)),
        Column("month", "月", month(), required=True, aliases=("年月", "対象月")),
        Column("quantity", "数量", decimal(0, 1_000_000_000), required=True),
        Column("hours", "時間", decimal(0, 1_000_000), blank=0.0, aliases=("作業時間",)),
    ),
)

SPECS.update({spec.kind: spec for spec in (ORDERS, ORDER_MONTHS, FACILITY_WAGES, ASSIGNMENTS)})
