"""Buyer companies (発注企業)."""
