"""Monthly summaries the fiscal-year report reads instead of the raw records.

Each row is derived data: the sums of one month of a workspace, kept exact on every write by
``app.reports.summaries`` (in the same transaction as the write). A report then reads a few
thousand summary rows instead of tens of thousands of order months and assignments.

Plain tables, not mapped classes: nothing edits a row, they are replaced month by month. They
are tenant-owned (``info["tenant_owned"]``: RLS, Citus distribution, isolation tests), with no
foreign keys (a summary never blocks deleting what it summed).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, Float, ForeignKey, Integer, String, Table

from app.db import Base

TENANT_OWNED = {"tenant_owned": True}


def _tenant_column() -> Column[int]:
    return Column("tenant_id", Integer, ForeignKey("tenants.id"), primary_key=True)


# Order months of live (not archived) orders with an actual amount, by buyer and month.
report_buyer_months = Table(
    "report_buyer_months",
    Base.metadata,
    _tenant_column(),
    Column("month", Date, primary_key=True),
    Column("buyer_id", Integer, primary_key=True),
    Column("actual", BigInteger, nullable=False),  # Σ actual amount
    Column("forecast_months", Integer, nullable=False),  # order months with a forecast
    Column("forecast", BigInteger, nullable=False),  # Σ forecast amount
    Column("forecast_error", BigInteger, nullable=False),  # Σ |actual − forecast|
    Column("forecast_actual", BigInteger, nullable=False),  # Σ actual where forecast known
    info=TENANT_OWNED,
)

# Assigned hours by facility and month (order work and deal trials alike).
report_facility_months = Table(
    "report_facility_months",
    Base.metadata,
    _tenant_column(),
    Column("month", Date, primary_key=True),
    Column("facility_id", Integer, primary_key=True),
    Column("hours", Float, nullable=False),
    info=TENANT_OWNED,
)

# Priority procurement: a month's actual amounts of live orders shared among that order
# month's assignments by hours (by quantity when no hours were recorded), summed by whether
# the buyer is the municipality and by the kind of facility that did the work.
report_procurement_months = Table(
    "report_procurement_months",
    Base.metadata,
    _tenant_column(),
    Column("month", Date, primary_key=True),
    Column("municipality", Boolean, primary_key=True),
    Column("facility_kind", String(32), primary_key=True),
    Column("amount", Float, nullable=False),
    info=TENANT_OWNED,
)

SUMMARY_TABLES = (report_buyer_months, report_facility_months, report_procurement_months)
