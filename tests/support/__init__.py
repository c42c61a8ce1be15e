"""Helpers that start real services for tests (mosquitto, PostgreSQL) and a fault proxy."""
