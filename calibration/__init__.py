"""Walkout calibration: camera intrinsics (boards), camera pose from floor markers, load-cell tare
and span. The procedures and file formats are in docs/calibration.md; the commands are
`walkout calibrate camera|floor|plate` (edge/cli/calibrate_cmd.py)."""
