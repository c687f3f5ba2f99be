"""Frozen schemas of earlier versions, for the upgrade steps in database/migrations.py only.
Nothing else imports them; never edit one (a database of that version exists somewhere)."""
