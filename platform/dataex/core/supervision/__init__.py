"""Supervision by regulators: freezing and unfreezing participants, linking
accounts under one beneficial owner (freezes.py), and their contracts.
"""
