"""`python -m evaluator.schemadoc [--check]`: docs/result-schema.md, generated from the result models.

Exit codes: 0 written (or, with --check, current); 1 with --check when the page is out of date.
"""
from __future__ import annotations

import argparse
import sys
import typing
from pathlib import Path

from pydantic import BaseModel

from evaluator.config import PROJECT_ROOT
from evaluator.results import FailureReason, Metrics, OutputCheck, RunManifest, SafetyEvent, SafetyEventType, StopReason, TaskResult, TranscriptRef

PAGE = PROJECT_ROOT / "docs" / "result-schema.md"
MODELS: list[tuple[str, type[BaseModel]]] = [
    ("Task result (`results/<repo>/<task>.json`, `trials/.../epoch-<k>.json`)", TaskResult),
    ("metrics", Metrics), ("output_checks[]", OutputCheck), ("safety_events[]", SafetyEvent),
    ("transcript", TranscriptRef), ("manifest.json", RunManifest),
]


def _type(annotation: object) -> str:
    text = repr(annotation).replace("typing.", "").replace("evaluator.results.", "")
    for name, alias in (("StopReason", StopReason), ("FailureReason", FailureReason), ("SafetyEventType", SafetyEventType)):
        text = text.replace(repr(alias).replace("typing.", ""), name)
    return text.replace("<class '", "").replace("'>", "").replace("|", "\\|")


def render() -> str:
    lines = ["# Result schema", "", "Generated from `evaluator/results.py` by `python -m evaluator.schemadoc`; "
             "a test fails when this page is out of date.", ""]
    for title, model in MODELS:
        lines += [f"## {title}", "", "| field | type | description |", "|---|---|---|"]
        for name, field in model.model_fields.items():
            desc = (field.description or "").replace("|", "\\|")
            lines.append(f"| `{name}` | `{_type(field.annotation)}` | {desc} |")
        lines.append("")
    for title, alias in (("stop_reason", StopReason), ("failure_reason", FailureReason), ("safety event types", SafetyEventType)):
        lines += [f"## Values of {title}", "", ", ".join(f"`{v}`" for v in typing.get_args(alias)), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evaluator.schemadoc", description=__doc__)
    p.add_argument("--check", action="store_true", help="Exit 1 if docs/result-schema.md is not current.")
    ns = p.parse_args(argv)
    text = render()
    if ns.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != text:
            print(f"{PAGE} is out of date: run python -m evaluator.schemadoc", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
