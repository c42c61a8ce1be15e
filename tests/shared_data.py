"""Where the real data beside the checkout lives (../shared, never copied into the repo)."""

from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
AIFI_DIR = SHARED_DATA / "loadcell-noise-aifi"
