"""Oracles for facts about images in the repository, read back from their pixels with Pillow.

They serve the image tasks (tag `image`): the fact is in the picture, not in any text file,
so a model learns it by looking (or by decoding the file itself). Decoding is capped at
`MAX_PIXELS` so a hostile image cannot exhaust the host.
"""
from __future__ import annotations

from pathlib import Path
from PIL import Image, UnidentifiedImageError

from evaluator.scoring.oracle_api import OracleError, fact_oracle
from oracles._common import resolve_path

__all__ = ["image_dark_runs", "image_grid_colors", "image_shape", "image_size"]

MAX_PIXELS = 40_000_000
# The colour names a grid task may use; each cell gets the nearest one (RGB distance).
COLOR_NAMES = {
    "black": (0, 0, 0), "white": (255, 255, 255), "gray": (128, 128, 128), "red": (220, 20, 20),
    "green": (0, 160, 60), "blue": (0, 60, 230), "yellow": (250, 220, 0), "orange": (255, 140, 0),
    "magenta": (220, 0, 220), "cyan": (0, 200, 220), "purple": (110, 30, 160), "brown": (120, 70, 20),
}


def _open(repo_root: Path, path: str) -> Image.Image:
    target = resolve_path(repo_root, path)
    try:
        with Image.open(target) as img:
            if img.width * img.height > MAX_PIXELS:
                raise OracleError(f"{path}: {img.width}x{img.height} is more pixels than an oracle decodes")
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise OracleError(f"{path} is not a readable image ({exc})") from None


def _nearest(rgb: tuple[int, ...]) -> str:
    return min(COLOR_NAMES, key=lambda n: sum((a - b) ** 2 for a, b in zip(rgb, COLOR_NAMES[n])))


def _ink(rgb: tuple[int, ...], threshold: int) -> bool:
    # Luma 0.299 R + 0.587 G + 0.114 B in thousandths: exact, where the float sum put mid-gray
    # (128, 128, 128) at 127.99999999999999, below a threshold of 128.
    return 299 * rgb[0] + 587 * rgb[1] + 114 * rgb[2] < 1000 * threshold


@fact_oracle()
def image_size(*, repo_root: Path, path: str) -> dict[str, int]:
    """{"width": W, "height": H} of the image at `path`, in pixels."""
    img = _open(repo_root, path)
    return {"width": img.width, "height": img.height}


@fact_oracle()
def image_grid_colors(*, repo_root: Path, path: str, rows: int, cols: int) -> list[list[str]]:
    """The image cut into a rows x cols grid: the name of the colour at each cell's centre
    (nearest of `COLOR_NAMES`), row by row from the top."""
    img = _open(repo_root, path)
    if rows < 1 or cols < 1:
        raise OracleError("rows and cols must be at least 1")
    return [[_nearest(img.getpixel((int((c + 0.5) * img.width / cols), int((r + 0.5) * img.height / rows))))
             for c in range(cols)] for r in range(rows)]


@fact_oracle()
def image_shape(*, repo_root: Path, path: str, threshold: int = 200) -> str:
    """The one filled shape on a light background: "square", "circle" or "triangle", by how
    much of its bounding box it fills (1, pi/4, 1/2)."""
    img = _open(repo_root, path)
    inked = [(x, y) for y in range(img.height) for x in range(img.width) if _ink(img.getpixel((x, y)), threshold)]
    if not inked:
        raise OracleError(f"{path}: no shape found")
    xs, ys = [p[0] for p in inked], [p[1] for p in inked]
    fill = len(inked) / ((max(xs) - min(xs) + 1) * (max(ys) - min(ys) + 1))
    return "square" if fill > 0.9 else "circle" if fill > 0.66 else "triangle" if fill > 0.35 else "other"


@fact_oracle()
def image_dark_runs(*, repo_root: Path, path: str, y: int, threshold: int = 128, min_run: int = 3) -> int:
    """Separate runs of dark pixels (at least `min_run` long) along row `y`: the bars a
    horizontal line through a bar chart crosses."""
    img = _open(repo_root, path)
    if not 0 <= y < img.height:
        raise OracleError(f"row {y} is outside the {img.height}-pixel-high image")
    runs = length = 0
    for x in range(img.width + 1):
        if x < img.width and _ink(img.getpixel((x, y)), threshold):
            length += 1
            continue
        runs += length >= min_run
        length = 0
    return runs

