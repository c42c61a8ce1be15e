"""Replay of recorded sessions through the edge core on a virtual clock."""
