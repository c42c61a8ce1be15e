"""Shelf controllers: the walkout-lc1 load-cell serial protocol and its serial driver."""
