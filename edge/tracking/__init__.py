"""Multi-object tracking: a Kalman + Hungarian tracker for image boxes and floor points.

`Tracker` (tracker.py) is the core; `motchallenge.py` runs it on MOTChallenge sequences and
`mot_eval.py` scores results with TrackEval. Design and measured figures: docs/tracker.md.
"""

from edge.tracking.spaces import BoxSpace, PointSpace
from edge.tracking.tracker import FrameTracks, Tracker, TrackerConfig

__all__ = ["BoxSpace", "FrameTracks", "PointSpace", "Tracker", "TrackerConfig"]
