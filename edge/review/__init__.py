"""Evidence for the review queue: what the sensors saw around a flagged receipt's lines."""
