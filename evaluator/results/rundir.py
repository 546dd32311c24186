"""The run directory: every file a run writes goes through here.

Layout (README "Output layout"; docs/result-schema.md has the field reference):
    run.json                         resolved config (secrets redacted), versions, pins, hashes
    run.lock                         flock held by the one writer (evaluator/results/runlock.py)
    manifest.json                    which (task, epoch) results are done
    trials/<repo>/<task>/epoch-<k>.json   every trial (always written)
    transcripts/<repo>.jsonl         one line per message, streamed as it happens
    artifacts/<repo>/<task>/         answer.json, answer.md, task_result.json (epoch-<k>/ when epochs > 1)
    results/REPORT.md                the report (results/ is written when the run ends)
    results/success_by_repo.png      the report's chart
    results/<repo>/<task>.json       per-task summary (the trial itself when epochs=1)
    results/<repo>/index.json        per-repo index
    .work/                           working copies of tasks in flight (removed at the end)
All JSON is written atomically, and the API key is redacted from everything.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from pathlib import Path
from typing import IO, Any, Callable

from evaluator.results.atomic import write_text_atomic
from evaluator.results.records import RunManifest, RunMeta, TaskResult
from evaluator.readback import host_reads
from evaluator.readback.host_reads import ArtifactCopy
from evaluator.tasks.specs import ReadLimits
from evaluator.reporting.textsafe import clean, escape_surrogates, has_surrogates



_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_LINE_BREAK = re.compile("[\x85\u2028\u2029]")


def _dumps(data: Any, indent: int | None = None) -> str:
    """JSON text that is always valid UTF-8 and one line per record in JSONL: a string the harness
    got from outside (an endpoint's lone surrogate, a file name that is not UTF-8) is stored with
    that part as a backslash escape, and the line breaks json leaves raw (U+0085, U+2028, U+2029,
    which str.splitlines and some editors break on) as \\u escapes. Both occur only inside strings."""
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    if has_surrogates(text):
        text = json.dumps(clean(data), ensure_ascii=False, indent=indent)
    return text if text.isascii() else _LINE_BREAK.sub(lambda m: _LINE_BREAKS[m.group(0)], text)


class Redactor:
    def __init__(self, secrets: list[str]) -> None:
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def __call__(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "***")
        return text


class TranscriptStream:
    """Appends one task attempt's messages to transcripts/<repo>.jsonl as they happen."""

    def __init__(self, run: RunDir, repo: str, task_id: str, epoch: int, attempt: str) -> None:
        self.run, self.repo, self.head = run, repo, {"task_id": task_id, "epoch": epoch, "attempt": attempt}
        self.count = 0
        self.hash = hashlib.sha256()
        self.t0 = time.monotonic()

    def __call__(self, message: dict[str, Any], meta: dict[str, Any] | None = None, *, key: str = "exec") -> None:
        # t: seconds since the attempt started, so a viewer can show the time each turn took.
        record = {**self.head, "seq": self.count, "t": round(time.monotonic() - self.t0, 3), "message": message}
        if meta is not None:
            record[key] = meta  # exec: the command's output as the sandbox kept it; proxy: a model exchange
        line = self.run.redact(_dumps(record))
        self.hash.update(line.encode())
        self.run.transcript_file(self.repo).write(line + "\n")
        self.count += 1


class RunDir:
    def __init__(self, path: Path, redact: Redactor | None = None) -> None:
        self.path = path
        self.redact = redact or Redactor([])
        self._transcripts: dict[str, IO[str]] = {}

    results = property(lambda self: self.path / "results")
    report_path = property(lambda self: self.path / "results" / "REPORT.md")

    def write_json(self, rel: str | Path, data: Any) -> None:
        text = self.redact(_dumps(data, indent=2))
        write_text_atomic(self.path / rel, text + "\n")

    def transcript_file(self, repo: str) -> IO[str]:
        if repo not in self._transcripts:
            path = self.path / "transcripts" / f"{repo}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            self._transcripts[repo] = open(path, "a", encoding="utf-8", buffering=1)
        return self._transcripts[repo]

    def close(self) -> None:
        for f in self._transcripts.values():
            f.close()
        self._transcripts.clear()

    # --- results ------------------------------------------------------------------------
    def trial_path(self, repo: str, task: str, epoch: int) -> Path:
        return self.path / "trials" / repo / task / f"epoch-{epoch}.json"

    def artifact_dir(self, repo: str, task: str, epoch: int, epochs: int) -> Path:
        dest = self.path / "artifacts" / repo / task
        return dest / f"epoch-{epoch}" if epochs > 1 else dest

    def write_trial(self, result: TaskResult, epochs: int) -> None:
        data = result.model_dump(mode="json")
        dest = self.artifact_dir(result.repo_id, result.task_id, result.epoch, epochs)
        self.write_json((dest / "task_result.json").relative_to(self.path), data)
        self.write_json(self.trial_path(result.repo_id, result.task_id, result.epoch).relative_to(self.path), data)

    def read_trials(self) -> list[TaskResult]:
        out = []
        for p in sorted((self.path / "trials").glob("*/*/epoch-*.json")):
            out.append(TaskResult.model_validate_json(p.read_text(encoding="utf-8")))
        return out

    def copy_artifacts(self, root: Path, rel_dir: str, repo: str, task: str, epoch: int, epochs: int,
                       caps: ReadLimits, skip: Callable[[str], bool] | None = None) -> ArtifactCopy:
        """Copy what the model wrote to `root/rel_dir` (its eval_artifacts/) as redacted text, through
        host_reads: no symlink followed, within the task's caps; returns what was left out."""
        dest = self.artifact_dir(repo, task, epoch, epochs)
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        return host_reads.copy_artifacts(root, rel_dir, dest, caps, self.redact, skip)

    def write_patch(self, repo: str, task: str, epoch: int, epochs: int, patch: bytes) -> None:
        """artifacts/<repo>/<task>/patch.diff: the model's change as graded (secrets redacted when it is text)."""
        dest = self.artifact_dir(repo, task, epoch, epochs) / "patch.diff"
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            dest.write_bytes(self.redact(patch.decode("utf-8")).encode("utf-8"))
        except UnicodeDecodeError:
            dest.write_bytes(patch)

    # --- manifest -----------------------------------------------------------------------
    def manifest(self) -> RunManifest | None:
        p = self.path / "manifest.json"
        return RunManifest.model_validate_json(p.read_text(encoding="utf-8")) if p.exists() else None

    def write_meta(self, meta: RunMeta) -> None:
        self.write_json("run.json", meta.model_dump(mode="json"))

    def write_manifest(self, manifest: RunManifest) -> None:
        self.write_json("manifest.json", manifest.model_dump(mode="json"))

    def write_report(self, text: str) -> None:
        write_text_atomic(self.report_path, self.redact(escape_surrogates(text)))
