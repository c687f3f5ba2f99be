"""Seeding a demo utility into storage (scripts/seed_demo.py): the pure generators of
services/demo/ turned into bulk rows through the storage contract, and bills made by the real
month run. Kept out of services/demo/, which stays pure (no I/O, no storage)."""
