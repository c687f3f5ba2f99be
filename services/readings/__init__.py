"""Readings: validation at ingestion, statistical checks, smart meters."""
