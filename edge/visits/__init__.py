"""Visits: entry taps, the person tracks bound to them, exits."""
