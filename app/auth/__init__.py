"""Accounts: login, logout, invitations, password reset."""
