"""The operator dashboard served by `walkout cloud serve --http-port N` (docs/dashboard.md)."""
