"""The fiscal-year program report: KPI arithmetic (pure), loading, pages, charts, exports."""
