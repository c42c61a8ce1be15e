"""Signed configuration pushed by the cloud: verify, apply atomically, persist, never go back."""
