"""The deterministic edge core and its composition."""
