"""Segments, campaigns and journeys: who gets what, when, exactly once."""
