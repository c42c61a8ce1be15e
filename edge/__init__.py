"""Walkout edge runtime."""
