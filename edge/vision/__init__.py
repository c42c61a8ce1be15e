"""Vision on the edge: camera model, detector, multi-camera tracking."""
