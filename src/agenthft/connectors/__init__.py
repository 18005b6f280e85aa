"""Venue connectors: the venue port (`port.py`) and one implementation per venue."""
