"""Storage backends behind one contract (services/storage/base.py)."""
