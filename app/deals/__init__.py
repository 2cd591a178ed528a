"""The deal pipeline (商談・案件)."""
