"""The live runtime: driver threads -> bounded queues -> the deterministic core (docs/live.md)."""
