"""Sensor drivers: threads that move bytes, reads and frames from real devices to the live runtime.

Each driver owns one device (a serial port, a PC/SC reader, a camera, a track source), stamps
what it receives with the monotonic clock, hands it to a sink and never blocks the others: a
dead device is retried with back-off and reported as a fault (docs/live.md).
"""
