"""The web shell: layout, htmx helpers, error pages, health check, language switch."""
