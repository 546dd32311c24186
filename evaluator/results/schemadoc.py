"""`python -m evaluator.schemadoc [--check]`: docs/result-schema.md, generated from the result models.

Exit codes: 0 written (or, with --check, current); 1 with --check when the page is out of date;
2 when there is no docs/ folder (an installed package, not a checkout).
"""
from __future__ import annotations

import argparse
import sys
import typing

from pydantic import BaseModel

from evaluator.config.paths import CHECKOUT as PROJECT_ROOT
from evaluator.results.records import FailureReason, LeftOutArtifact, Metrics, OutputCheck, RepoEnvRecord, RunManifest, RunMeta, SafetyEvent, SafetyEventType, StopReason, TaskResult, TranscriptRef

PAGES = {"en": PROJECT_ROOT / "docs" / "result-schema.md", "zh": PROJECT_ROOT / "docs" / "zh-CN" / "result-schema.md"}
TEXT = {
    "en": ("# Result schema", "Generated from `evaluator/results/records.py` by `python -m evaluator.schemadoc`; "
           "a test fails when this page is out of date.", "| field | type | description |", "Values of"),
    "zh": ("# 结果文件结构", "本页由 `python -m evaluator.schemadoc` 根据 `evaluator/results/records.py` 生成；页面过期时测试会失败。"
           "字段说明沿用代码中的英文描述。", "| 字段 | 类型 | 说明 |", "取值："),
}
# (path, English, Chinese): every file a run leaves, so nothing it writes is undocumented.
FILES = [
    ("run.json", "Resolved config (secrets redacted), versions, repo commits, hashes.", "解析后的配置（密钥已隐去）、版本、仓库提交与哈希。"),
    ("run.lock", "Locked by the one process writing the run; holds its PID. A second writer exits 2.",
     "由唯一在写该运行的进程加锁，内容为其 PID；第二个写入者以退出码 2 结束。"),
    ("manifest.json", "Which (task, epoch) results are done (below).", "哪些 (task, epoch) 结果已完成（见下文）。"),
    ("trials/<repo>/<task>/epoch-<k>.json", "Every trial, written as it finishes (task result, below).",
     "每次试验，完成即写出（任务结果，见下文）。"),
    ("transcripts/<repo>.jsonl", "Every message, streamed as it happens: task_id, epoch, attempt, seq, t (seconds since "
     "the attempt started), message, exec (commands).", "所有消息，实时逐条写出：task_id、epoch、attempt、seq、t（自本次尝试开始的秒数）、message、exec（命令）。"),
    ("artifacts/<repo>/<task>/", "answer.json, answer.md, task_result.json (epoch-<k>/ when --epochs > 1).",
     "answer.json、answer.md、task_result.json（--epochs > 1 时在 epoch-<k>/ 下）。"),
    ("results/REPORT.md", "The report; results/ is written when the run ends (partial on SIGINT/SIGTERM, absent after kill -9 until --resume).",
     "报告；results/ 在运行结束时写出（SIGINT/SIGTERM 时为部分报告，kill -9 后在 --resume 完成前不存在）。"),
    ("results/success_by_repo.png", "Success rate per repo with 95% confidence intervals, shown in REPORT.md.",
     "各仓库的成功率及 95% 置信区间，REPORT.md 中展示。"),
    ("results/index.html", "The viewer: one self-contained HTML page of the run (docs/viewer.md).",
     "查看器：该运行的单个自包含 HTML 页面（docs/viewer.md）。"),
    ("results/<repo>/<task>.json", "Per-task result (summary over epochs).", "逐任务结果（跨 epoch 汇总）。"),
    ("results/<repo>/index.json", "Per-repo index.", "各仓库索引。"),
    (".work/", "Working copies of the tasks in flight; removed when the run ends, cleared by --resume after a kill.",
     "进行中任务的工作副本；运行结束时删除，被杀掉后由 --resume 清理。"),
]
LAYOUT_TITLE = {"en": ("## Run directory", "| path | content |"), "zh": ("## 运行目录", "| 路径 | 内容 |")}
MODELS: list[tuple[str, type[BaseModel]]] = [
    ("Task result (`results/<repo>/<task>.json`, `trials/.../epoch-<k>.json`)", TaskResult),
    ("metrics", Metrics), ("output_checks[]", OutputCheck), ("safety_events[]", SafetyEvent),
    ("artifacts_left_out[]", LeftOutArtifact), ("transcript", TranscriptRef), ("manifest.json", RunManifest), ("run.json", RunMeta),
    ("run.json `repo_envs` values", RepoEnvRecord),
]


def _type(annotation: object) -> str:
    text = repr(annotation).replace("typing.", "").replace("evaluator.results.records.", "")
    for name, alias in (("StopReason", StopReason), ("FailureReason", FailureReason), ("SafetyEventType", SafetyEventType)):
        text = text.replace(repr(alias).replace("typing.", ""), name)
    return text.replace("<class '", "").replace("'>", "").replace("|", "\\|")


def render(lang: str = "en") -> str:
    title_line, intro, header, values_of = TEXT[lang]
    lines = [title_line, "", intro, ""]
    heading, columns = LAYOUT_TITLE[lang]
    lines += [heading, "", columns, "|---|---|"]
    lines += [f"| `{path}` | {en if lang == 'en' else zh} |" for path, en, zh in FILES] + [""]
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
    if not (PROJECT_ROOT / "docs").is_dir():  # an installed package: the pages live in the checkout
        print(f"error: no docs/ folder at {PROJECT_ROOT}; run this from an AgentGym checkout", file=sys.stderr)
        return 2
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
