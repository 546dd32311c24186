"""Assemble the viewer: one HTML file with the script, the style and the data inline.

The Content-Security-Policy allows exactly the inline script and style shipped here (by
sha256), images from data: URLs, and nothing else: no fetch, no external resource, no other
script. Data rides in inert <script> elements (JSON, and one base64 blob per trial); '<' in
JSON is written as \\u003c so nothing in it can close its element.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from evaluator.results.atomic import write_text_atomic
from evaluator.view.data import load_run

STATIC = Path(__file__).parent / "static"
SCRIPTS = ("util.js", "run.js", "task.js", "compare.js")  # one inline script, in this order


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def json_for_script(value: Any) -> str:
    """JSON safe inside <script type=application/json>: no '<', '>' or '&' survives literally."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates -> \udXXX escapes
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def render(data: dict[str, Any], blobs: list[str]) -> str:
    script = "\n".join((STATIC / name).read_text(encoding="utf-8") for name in SCRIPTS)
    style = (STATIC / "viewer.css").read_text(encoding="utf-8")
    shell = (STATIC / "viewer.html").read_text(encoding="utf-8")
    csp = (f"default-src 'none'; script-src {_csp_hash(script)}; style-src {_csp_hash(style)}; img-src data:; "
           "base-uri 'none'; form-action 'none'")
    # Blobs are base64 (A-Z a-z 0-9 + / =): nothing in them can end the element.
    blob_tags = "".join(f'<script type="application/x-agentgym-blob" id="b{i}">{b}</script>\n'
                        for i, b in enumerate(blobs))
    parts = {"CSP": csp, "STYLE": style, "SCRIPT": script, "DATA": json_for_script(data), "BLOBS": blob_tags}
    # One pass over the shell only: a marker that appears inside the data is never substituted.
    pieces = re.split(r"\{\{([A-Z]+)\}\}", shell)
    return "".join(parts[p] if i % 2 else p for i, p in enumerate(pieces))


def build(runs: list[Path]) -> str:
    """The page for one run, or a comparison of several."""
    blobs: list[str] = []
    data = {"version": 1, "runs": [load_run(r, blobs) for r in runs]}
    return render(data, blobs)


def write(runs: list[Path], out: Path) -> None:
    write_text_atomic(out, build(runs))
