"""Person tracks as the edge sees them: recent history per track, queries near shelves."""
