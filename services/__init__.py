"""Meterline services: pure business rules, the storage facade and integrations."""
