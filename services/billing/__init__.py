"""Billing: periods and locks, arrears, the month run, bill status rules."""
