"""Walkout calibration: camera intrinsics, floor homography, load-cell tare and span (later)."""
