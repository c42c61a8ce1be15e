"""`walkout sim live`: play a scenario in real time into real interfaces (ptys, PC/SC, sockets)."""
