"""Images for vision models: sniffing, caps, downscaling, the run's image store, and how an
image travels in each API.

A tool result that shows an image is a list of parts: a text part and an `image_ref` part
that names the image by the sha256 of the bytes sent (the transcript keeps that, never the
image). The bytes are written once per run to artifacts/images/<sha256>.<ext>; adapters
turn a ref into a data URL when they build a request:
- Chat Completions cannot carry images in a tool message: the tool message keeps the text
  and a user message right after the tool messages carries the image (`lift_tool_images`).
- The Responses API carries it natively in the function_call_output (responses_model.py).
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
from pathlib import Path
from typing import Any

from PIL import Image
from pydantic import BaseModel

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
_FILES: dict[str, Path] = {}  # sha256 -> stored file, for every image this process has shown


class ImageCaps(BaseModel):
    max_images: int = 8  # per task
    max_file_bytes: int = 20_000_000
    pixel_budget: int = 1_600_000  # larger images are downscaled to fit (about 1265 x 1265)
    max_source_pixels: int = 50_000_000  # larger ones are refused undecoded (decompression bombs)


class ImageRefused(Exception):
    """The file cannot be shown; the message goes back to the model."""


class Prepared(BaseModel):
    format: str
    media_type: str
    width: int
    height: int
    sent_width: int
    sent_height: int
    frames: int = 1
    source_sha256: str
    sha256: str  # of the bytes sent
    downscaled: bool = False


def sniff(head: bytes) -> str | None:
    """PNG, JPEG, GIF or WEBP from the first bytes; None for anything else."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def prepare(data: bytes, caps: ImageCaps) -> tuple[Prepared, bytes]:
    """The bytes to send: the file as it is when it fits the budget, else a downscaled PNG
    (an animated image sends its first frame). Raises ImageRefused."""
    fmt = sniff(data[:16])
    if fmt is None:
        raise ImageRefused("not a PNG, JPEG, GIF or WebP image")
    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
            if w * h > caps.max_source_pixels:
                raise ImageRefused(f"the image is {w}x{h} pixels, more than the {caps.max_source_pixels} this harness decodes")
            frames = getattr(img, "n_frames", 1)
            if w * h <= caps.pixel_budget and frames == 1:
                img.verify()  # a truncated or corrupt file is refused here, not by the provider
                sent, size = data, (w, h)
            else:
                img.seek(0)
                frame = img.convert("RGBA" if "A" in img.getbands() or img.mode == "P" else "RGB")
                scale = min(1.0, (caps.pixel_budget / (w * h)) ** 0.5)
                size = (max(1, int(w * scale)), max(1, int(h * scale)))
                if size != (w, h):
                    frame = frame.resize(size, Image.Resampling.LANCZOS)
                out = io.BytesIO()
                frame.save(out, format="PNG")
                sent = out.getvalue()
    except ImageRefused:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure on a workspace file is the model's problem, not ours
        raise ImageRefused(f"the image cannot be decoded ({type(exc).__name__})") from None
    media = FORMATS[fmt] if sent is data else "image/png"
    return Prepared(format=fmt, media_type=media, width=w, height=h, sent_width=size[0], sent_height=size[1],
                    frames=frames, source_sha256=hashlib.sha256(data).hexdigest(),
                    sha256=hashlib.sha256(sent).hexdigest(), downscaled=sent is not data), sent


class ImageStore:
    """artifacts/images/ of one run: each image written once, named by its sha256."""

    def __init__(self, directory: Path, run_root: Path) -> None:
        self.directory, self.run_root = directory, run_root

    def put(self, sha256: str, data: bytes, media_type: str) -> str:
        path = self.directory / f"{sha256}.{media_type.split('/')[1]}"
        if not path.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        _FILES[sha256] = path
        return path.relative_to(self.run_root).as_posix()


def image_ref(p: Prepared, shown_path: str, stored: str) -> dict[str, Any]:
    return {"type": "image_ref", "sha256": p.sha256, "media_type": p.media_type, "path": shown_path, "file": stored}


def data_url(ref: dict[str, Any]) -> str:
    """The image a ref names, as a data URL; its bytes are checked against the sha256."""
    path = _FILES.get(str(ref.get("sha256")))
    data = path.read_bytes() if path else b""
    if hashlib.sha256(data).hexdigest() != ref.get("sha256"):
        raise ImageRefused(f"image {ref.get('sha256')} is not in this run's image store")
    return f"data:{ref.get('media_type')};base64,{base64.b64encode(data).decode()}"


def is_ref(part: Any) -> bool:
    return isinstance(part, dict) and part.get("type") == "image_ref"


def text_of(content: Any) -> str:
    """The text of a content that may be a list of parts (image refs become nothing)."""
    if not isinstance(content, list):
        return content or ""
    return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")


def chat_part(part: Any) -> Any:
    return {"type": "image_url", "image_url": {"url": data_url(part)}} if is_ref(part) else part


def lift_tool_images(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat Completions form: tool messages as text, their images in one user message after
    the run of tool messages (a user message between tool messages would break the pairing)."""
    if not any(isinstance(m.get("content"), list) for m in messages):
        return messages
    out: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for m in messages:
        if m.get("role") != "tool" and pending:
            out.append({"role": "user", "content": pending})
            pending = []
        content = m.get("content")
        if m.get("role") == "tool" and isinstance(content, list):
            refs = [p for p in content if is_ref(p)]
            out.append({**m, "content": text_of(content)})
            for ref in refs:
                pending += [{"type": "text", "text": f"The image from {ref.get('path')} (sha256 {ref.get('sha256')}):"}, chat_part(ref)]
        elif isinstance(content, list):
            out.append({**m, "content": [chat_part(p) for p in content]})
        else:
            out.append(m)
    if pending:
        out.append({"role": "user", "content": pending})
    return out
