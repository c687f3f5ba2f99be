"""Deterministic demo data for the three utility templates (pure generators: no I/O).

municipal.py (Suthra Punjab, seed 003) and water.py (HydroSpark, seed 004) derive every record
from its index, so any chunk of a 300,000-record utility can be generated on its own;
common.py holds what they share (areas, contacts, seeded randomness, payment behaviour).
"""
