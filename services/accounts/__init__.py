"""Accounts: utility settings, areas, the people who sign in, their roles and scopes."""
