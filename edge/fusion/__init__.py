"""Fusion: attributing shelf events to visits, with evidence and confidence."""
