"""Import and export of records as CSV (UTF-8 / CP932) and XLSX."""
