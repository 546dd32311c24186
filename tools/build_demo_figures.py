#!/usr/bin/env python3
"""Draw the demo repo's figures (repos/_demo_src/docs/figures/), for the image tasks.

    python tools/build_demo_figures.py

The figures are committed (the bundle takes their bytes as they are); this script is how
they were made, with Pillow and no fonts, so that their facts are exact: the oracles in
oracles/images.py read them back from the pixels (size, grid colours, shape, bars), and no
text file of the repo states them.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "repos" / "_demo_src" / "docs" / "figures"
WHITE, INK = (255, 255, 255), (30, 40, 60)


def pipeline() -> Image.Image:
    """A box-and-arrow diagram of an odd size: the size task's answer."""
    img = Image.new("RGB", (733, 419), WHITE)
    d = ImageDraw.Draw(img)
    for i, x in enumerate((40, 290, 540)):
        d.rectangle((x, 150, x + 150, 270), outline=INK, width=4, fill=(220 - 30 * i, 230, 250))
        if i < 2:
            d.line((x + 155, 210, x + 245, 210), fill=INK, width=4)
            d.polygon([(x + 245, 200), (x + 245, 220), (x + 248, 210)], fill=INK)
    return img


def palette() -> Image.Image:
    """A 2x2 grid of flat colours."""
    colors = [[(255, 140, 0), (0, 70, 230)], [(220, 0, 220), (0, 170, 60)]]  # orange, blue / magenta, green
    img = Image.new("RGB", (240, 240), WHITE)
    d = ImageDraw.Draw(img)
    for r, row in enumerate(colors):
        for c, color in enumerate(row):
            d.rectangle((c * 120, r * 120, c * 120 + 119, r * 120 + 119), fill=color)
    return img


def status() -> Image.Image:
    """One filled shape on white: a triangle."""
    img = Image.new("RGB", (260, 240), WHITE)
    ImageDraw.Draw(img).polygon([(30, 210), (230, 210), (130, 30)], fill=(200, 30, 30))
    return img


def bars() -> Image.Image:
    """A bar chart (no labels) with 11 bars over an axis."""
    heights = [120, 180, 90, 200, 160, 60, 140, 210, 100, 170, 80]
    img = Image.new("RGB", (520, 300), WHITE)
    d = ImageDraw.Draw(img)
    base = 260
    d.line((20, base, 500, base), fill=INK, width=3)
    for i, h in enumerate(heights):
        x = 35 + i * 42
        d.rectangle((x, base - h, x + 26, base - 2), fill=(40, 60, 150))
    return img


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    pipeline().save(OUT / "pipeline.png", optimize=False)
    palette().save(OUT / "palette.webp", lossless=True)
    status().convert("P", palette=Image.Palette.ADAPTIVE, colors=8).save(OUT / "status.gif")
    bars().save(OUT / "loss_bars.jpg", quality=92)


if __name__ == "__main__":
    main()
