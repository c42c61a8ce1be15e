"""Walkout store simulator: scenarios in, recorded sessions with ground truth out."""
