"""What `read_file` does with an image: show it to a vision model, or say it is not shown.

Caps (per task count, file size, decoded pixels) come from ImageCaps; the bytes go to the
run's image store once, and the tool result names them by sha256 (models/images.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from evaluator.models.images import ImageCaps, ImageRefused, ImageStore, image_ref, prepare, sniff

NOT_SHOWN = "images are not shown to this model"


class ImageViewer:
    def __init__(self, *, vision: bool, store: ImageStore, caps: ImageCaps | None = None) -> None:
        self.vision, self.store, self.caps = vision, store, caps or ImageCaps()
        self.shown = 0

    @staticmethod
    def is_image(head: bytes) -> bool:
        return sniff(head[:16]) is not None

    def show(self, real: Path, shown_path: str) -> str | list[dict[str, Any]]:
        """The tool result for an image file; raises ImageRefused with a message for the model."""
        size = real.stat().st_size
        with open(real, "rb") as f:
            head = f.read(16)
            fmt = sniff(head)
            if not self.vision:
                return f"{shown_path} is a {fmt} image ({size} bytes); {NOT_SHOWN}."
            if self.shown >= self.caps.max_images:
                raise ImageRefused(f"{shown_path} not shown: at most {self.caps.max_images} images per task")
            if size > self.caps.max_file_bytes:
                raise ImageRefused(f"{shown_path} not shown: {size} bytes is more than {self.caps.max_file_bytes}")
            data = head + f.read(self.caps.max_file_bytes)
        prepared, sent = prepare(data, self.caps)
        stored = self.store.put(prepared.sha256, sent, prepared.media_type)
        self.shown += 1
        text = (f"{shown_path}: {fmt} image, {prepared.width}x{prepared.height} pixels, {size} bytes, "
                f"sha256 {prepared.source_sha256}")
        if prepared.frames > 1:
            text += f"; animated, {prepared.frames} frames, the first is shown"
        if prepared.downscaled and (prepared.sent_width, prepared.sent_height) != (prepared.width, prepared.height):
            text += f"; downscaled to {prepared.sent_width}x{prepared.sent_height} to fit {self.caps.pixel_budget} pixels"
        return [{"type": "text", "text": text + ". The image is attached."}, image_ref(prepared, shown_path, stored)]
