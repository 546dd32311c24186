"""Second derivations of the image oracles (imported by derivations/files.py).

The size is read from the file's own header bytes (PNG IHDR, GIF screen descriptor, JPEG SOF,
WebP VP8/VP8L/VP8X, BMP), without an image library. Pixels come from Pillow's decoder in the
file's native mode (`Image.tobytes()`), never through `convert()`: the conversion to RGB, the
luminance (exact integers) and every count or classification are done here, in plain Python,
and colours are named by hue, saturation and value rather than by the nearest reference colour.
"""
from __future__ import annotations

import colorsys
import math
import os
import re
import struct
from pathlib import Path

from evaluator.scoring.oracle_api import second_derivation

MAX_PIXELS = 40_000_000  # what a derivation decodes on the host at most
HEADER_BYTES = 1 << 20  # a JPEG's SOF may follow large EXIF/ICC segments


class ImageError(ValueError):
    """The image cannot be read by this derivation."""


def _inside(repo_root: Path, rel: str) -> Path:
    target = Path(os.path.realpath(repo_root / rel))
    if not target.is_relative_to(os.path.realpath(repo_root)) or not target.is_file():
        raise ImageError(f"{rel!r} is not a file inside the repository")
    return target


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            raise ImageError("damaged JPEG marker stream")
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1  # fill byte
        elif marker in (0x01, *range(0xD0, 0xD9)):
            i += 2  # markers without a length
        elif marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        else:
            i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
    raise ImageError("no JPEG frame header in the first MiB")


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise ImageError("bad VP8 start code")
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    raise ImageError(f"unknown WebP chunk {chunk!r}")


def header_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the header bytes of a PNG, GIF, JPEG, WebP or BMP file."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return struct.unpack("<HH", data[6:10])
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_size(data)
    if data[:2] == b"BM":
        if struct.unpack("<I", data[14:18])[0] == 12:
            return struct.unpack("<HH", data[18:22])
        w, h = struct.unpack("<ii", data[18:26])
        return w, abs(h)
    raise ImageError("not a PNG, GIF, JPEG, WebP or BMP file")


@second_derivation("image_size", method="width and height parsed from the file's header bytes, no image library")
def image_size(*, repo_root: Path, path: str) -> dict[str, int]:
    with open(_inside(repo_root, path), "rb") as f:
        width, height = header_size(f.read(HEADER_BYTES))
    return {"width": width, "height": height}


class Pixels:
    """RGB access to the decoder's native-mode bytes, with the mode conversion done here."""

    def __init__(self, repo_root: Path, path: str) -> None:
        from PIL import Image  # only the decoder; the conversion to RGB is below

        with Image.open(_inside(repo_root, path)) as img:
            self.width, self.height = img.size
            if self.width * self.height > MAX_PIXELS:
                raise ImageError(f"{path}: {self.width}x{self.height} is more pixels than a derivation decodes")
            img.load()
            self.mode, self.raw = img.mode, img.tobytes()
            palette = img.getpalette() if img.mode in ("P", "PA") else None
        steps = {"RGB": 3, "RGBA": 4, "RGBX": 4, "L": 1, "LA": 2, "P": 1, "PA": 2, "1": 0}
        if self.mode not in steps:
            raise ImageError(f"{path}: pixel mode {self.mode} is not read by this derivation")
        self.step = steps[self.mode]
        self.palette = palette or []

    def rgb(self, x: int, y: int) -> tuple[int, int, int]:
        if self.mode == "1":  # one bit per pixel, rows padded to whole bytes
            byte = self.raw[y * ((self.width + 7) // 8) + x // 8]
            v = 255 if byte & (0x80 >> (x % 8)) else 0
            return v, v, v
        i = (y * self.width + x) * self.step
        if self.mode in ("L", "LA"):
            return self.raw[i], self.raw[i], self.raw[i]
        if self.mode in ("P", "PA"):
            j = 3 * self.raw[i]
            return tuple(self.palette[j:j + 3]) if j + 3 <= len(self.palette) else (0, 0, 0)  # type: ignore[return-value]
        return self.raw[i], self.raw[i + 1], self.raw[i + 2]

    def dark(self, x: int, y: int, threshold: int) -> bool:
        r, g, b = self.rgb(x, y)
        return 299 * r + 587 * g + 114 * b < 1000 * threshold  # ITU-R 601 luma, in exact integers


@second_derivation("image_dark_runs", method="Pillow's native-mode bytes, integer luma, runs found by a regex")
def image_dark_runs(*, repo_root: Path, path: str, y: int, threshold: int = 128, min_run: int = 3) -> int:
    px = Pixels(repo_root, path)
    if not 0 <= y < px.height:
        raise ImageError(f"row {y} is not in the image")
    row = "".join("#" if px.dark(x, y, threshold) else "." for x in range(px.width))
    return len(re.findall("#{%d,}" % max(min_run, 1), row))


def color_name(rgb: tuple[int, int, int]) -> str:
    """A colour's name from its hue, saturation and value (a painter's reading, not a palette)."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    deg = h * 360
    if s < 0.25 or v < 0.2:
        return "black" if v < 0.25 else "white" if v > 0.85 and s < 0.15 else "gray"
    if deg < 15 or deg >= 335:
        return "red"
    if deg < 45:
        return "brown" if v < 0.6 else "orange"
    if deg < 70:
        return "yellow"
    if deg < 165:
        return "green"
    if deg < 200:
        return "cyan"
    if deg < 255:
        return "blue"
    return "purple" if deg < 285 else "magenta"


@second_derivation("image_grid_colors", method="Pillow's native-mode bytes, each cell centre named by hue/saturation/value")
def image_grid_colors(*, repo_root: Path, path: str, rows: int, cols: int) -> list[list[str]]:
    if rows < 1 or cols < 1:
        raise ImageError("rows and cols must be at least 1")
    px = Pixels(repo_root, path)
    # the centre of cell (r, c), in integers: floor((2c + 1) * W / (2 * cols))
    return [[color_name(px.rgb((2 * c + 1) * px.width // (2 * cols), (2 * r + 1) * px.height // (2 * rows)))
             for c in range(cols)] for r in range(rows)]


def _profile_error(widths: list[float], model: str) -> float:
    """Mean distance between a shape's normalised row (or column) widths and an ideal profile."""
    n = len(widths)
    ideal = {
        "flat": lambda t: 1.0,
        "round": lambda t: math.sqrt(max(0.0, 1 - (2 * t - 1) ** 2)),
        "rising": lambda t: t,
        "falling": lambda t: 1 - t,
    }[model]
    return sum(abs(w - ideal((i + 0.5) / n)) for i, w in enumerate(widths)) / n


@second_derivation("image_shape", method="Pillow's native-mode bytes; the shape whose row/column width profile fits best")
def image_shape(*, repo_root: Path, path: str, threshold: int = 200) -> str:
    px = Pixels(repo_root, path)
    row_counts, col_counts = [0] * px.height, [0] * px.width
    for y in range(px.height):
        for x in range(px.width):
            if px.dark(x, y, threshold):
                row_counts[y] += 1
                col_counts[x] += 1
    rows = [i for i, n in enumerate(row_counts) if n]
    cols = [i for i, n in enumerate(col_counts) if n]
    if not rows:
        raise ImageError(f"{path}: nothing darker than {threshold} in the image")
    width, height = cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1
    by_row = [n / width for n in row_counts[rows[0]:rows[-1] + 1]]
    by_col = [n / height for n in col_counts[cols[0]:cols[-1] + 1]]
    fits = {
        "square": max(_profile_error(by_row, "flat"), _profile_error(by_col, "flat")),
        "circle": max(_profile_error(by_row, "round"), _profile_error(by_col, "round")),
        # a triangle's width grows linearly from its apex, along the rows or along the columns
        "triangle": min(_profile_error(p, m) for p in (by_row, by_col) for m in ("rising", "falling")),
    }
    best = min(fits, key=fits.__getitem__)
    return best if fits[best] < 0.12 else "other"
