"""The edge journal: receipts and their outbox rows in one SQLite transaction."""
