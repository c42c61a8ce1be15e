"""Walkout cloud service: ingest, database, control plane, retraining (later issues)."""
