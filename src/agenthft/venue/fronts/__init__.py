"""Fronts that speak a real venue's protocol over the venue's one core (docs/venue.md)."""
