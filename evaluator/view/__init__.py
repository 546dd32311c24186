"""The HTML viewer: one self-contained page for a run or a comparison of runs (docs/viewer.md)."""
