"""Edge health: Prometheus metrics, readiness and a local status page (docs/health.md)."""
