"""Schema, triggers and migrations."""
