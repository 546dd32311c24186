"""`python -m evaluator.schemadoc [--check]`: docs/result-schema.md, generated from the result models.

Exit codes: 0 written (or, with --check, current); 1 with --check when the page is out of date.
"""
from __future__ import annotations

import argparse
import sys
import typing

from pydantic import BaseModel

from evaluator.config import PROJECT_ROOT
from evaluator.results import FailureReason, Metrics, OutputCheck, RunManifest, SafetyEvent, SafetyEventType, StopReason, TaskResult, TranscriptRef

PAGES = {"en": PROJECT_ROOT / "docs" / "result-schema.md", "zh": PROJECT_ROOT / "docs" / "zh-CN" / "result-schema.md"}
TEXT = {
    "en": ("# Result schema", "Generated from `evaluator/results.py` by `python -m evaluator.schemadoc`; "
           "a test fails when this page is out of date.", "| field | type | description |", "Values of"),
    "zh": ("# 结果文件结构", "本页由 `python -m evaluator.schemadoc` 根据 `evaluator/results.py` 生成；页面过期时测试会失败。"
           "字段说明沿用代码中的英文描述。", "| 字段 | 类型 | 说明 |", "取值："),
}
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


def render(lang: str = "en") -> str:
    title_line, intro, header, values_of = TEXT[lang]
    lines = [title_line, "", intro, ""]
    for title, model in MODELS:
        lines += [f"## {title}", "", header, "|---|---|---|"]
        for name, field in model.model_fields.items():
            desc = (field.description or "").replace("|", "\\|")
            lines.append(f"| `{name}` | `{_type(field.annotation)}` | {desc} |")
        lines.append("")
    for title, alias in (("stop_reason", StopReason), ("failure_reason", FailureReason), ("safety event types", SafetyEventType)):
        lines += [f"## {values_of} {title}", "", ", ".join(f"`{v}`" for v in typing.get_args(alias)), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evaluator.schemadoc", description=__doc__)
    p.add_argument("--check", action="store_true", help="Write nothing; exit 1 if docs/result-schema.md is not current (default off: write it).")
    ns = p.parse_args(argv)
    stale = [page for lang, page in PAGES.items()
             if not page.exists() or page.read_text(encoding="utf-8") != render(lang)]
    if ns.check:
        for page in stale:
            print(f"{page} is out of date: run python -m evaluator.schemadoc", file=sys.stderr)
        return 1 if stale else 0
    for lang, page in PAGES.items():
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(render(lang), encoding="utf-8")
        print(f"wrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
