"""Read a run directory into what the viewer embeds.

The page's JSON holds what the run and compare pages need at load (run facts, statistics,
plots, one small row per trial). Everything a task page shows (checks, safety events,
transcript, answer files, patch) goes into one zlib-compressed, base64 blob per trial that
the page decodes only when that task is opened, so a large run opens as fast as a small one.

Run directories are the harness's own output, but what they contain came from a model:
files are read without following symlinks and with size caps, and every string stays data.
"""
from __future__ import annotations

import base64
import json
import zlib
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evaluator.results.records import TaskResult
from evaluator.reporting.summary import run_stats

PLOT_MAX_BYTES = 5_000_000
ANSWER_MAX_BYTES = 256_000
TEXT_SUFFIXES = {".json", ".md", ".txt", ".diff", ".patch", ".yaml", ".yml", ".log", ".xml"}
# Artifacts the harness writes itself; the rest of the directory is what the model wrote.
HARNESS_FILES = {"task_result.json"}


class RunDirError(Exception):
    """A run directory the viewer cannot read; the message is one sentence for the user."""


def read_capped(path: Path, limit: int) -> bytes | None:
    """Bytes of a regular file (never through a symlink), or None when it is not one or too big."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > limit:
            return None
        return path.read_bytes()
    except OSError:
        return None


def pack(value: dict[str, Any], transcript: list[str]) -> str:
    """{**value, "transcript": [lines]} as JSON -> zlib (what DecompressionStream('deflate')
    reads) -> base64 (no '<' can appear). The lines are JSON text already (load_transcripts)."""
    head = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    # A lone surrogate (a "\\ud800" escape in a model's JSON) cannot be UTF-8: written back as
    # that same escape, which JSON.parse reads (it only ever sits inside a string).
    raw = (head[:-1] + ',"transcript":[' + ",".join(transcript) + "]}").encode("utf-8", "backslashreplace")
    return base64.b64encode(zlib.compress(raw, 6)).decode("ascii")


def trial_key(t: dict[str, Any]) -> str:
    return f"{t['repo_id']}/{t['task_id']}#{t.get('epoch') or 0}"


def _load_json(path: Path) -> Any:
    data = read_capped(path, 50_000_000)
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def load_trials(run: Path) -> list[dict[str, Any]]:
    """Every trial as written (raw dicts, so fields newer than this viewer are kept)."""
    out = []
    for p in sorted((run / "trials").glob("*/*/epoch-*.json")):
        data = _load_json(p)
        if isinstance(data, dict) and {"repo_id", "task_id"} <= data.keys():
            out.append(data)
    return out


def load_transcripts(run: Path, trials: list[dict[str, Any]]) -> dict[str, list[str]]:
    """attempt id -> its transcript lines (JSON text, checked, in seq order); one pass per file.

    Lines stay text so a large run's transcripts are held once, as bytes, not as objects."""
    wanted = {(t.get("transcript") or {}).get("attempt") for t in trials} - {None}
    files = {(t.get("transcript") or {}).get("path") for t in trials} - {None}
    out: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for rel in sorted(files):
        path = run / rel
        if ".." in Path(rel).parts or path.is_symlink() or not path.is_file():
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                odd: list[str] = []  # NaN / Infinity: Python reads them, JSON.parse does not
                try:
                    rec = json.loads(line, parse_constant=lambda c: odd.append(c))
                except ValueError:
                    continue  # a line cut by a crash: the rest of the file still counts
                if isinstance(rec, dict) and rec.get("attempt") in wanted:
                    seq = rec.get("seq")
                    text = json.dumps(rec, ensure_ascii=False) if odd else line.strip()
                    out[rec["attempt"]].append((seq if isinstance(seq, int) else 0, text))
    return {attempt: [text for _, text in sorted(lines, key=lambda x: x[0])] for attempt, lines in out.items()}


def artifact_dir(run: Path, t: dict[str, Any], epochs: int) -> Path:
    base = run / "artifacts" / t["repo_id"] / t["task_id"]
    return base / f"epoch-{t.get('epoch') or 0}" if epochs > 1 else base


def answer_files(folder: Path) -> list[dict[str, Any]]:
    """The text files the model left in eval_artifacts/ (as copied into artifacts/)."""
    out: list[dict[str, Any]] = []
    if folder.is_symlink() or not folder.is_dir():
        return out
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if rel in HARNESS_FILES or p.suffix.lower() not in TEXT_SUFFIXES or any(x.is_symlink() for x in (p, *p.parents)):
            continue
        data = read_capped(p, ANSWER_MAX_BYTES)
        if data is not None:
            out.append({"name": rel, "bytes": len(data), "text": data.decode("utf-8", errors="replace")})
    return out


def change_part(t: dict[str, Any], folder: Path) -> dict[str, Any] | None:
    """Change tasks (kind: change): the patch (artifacts' patch.diff) and one row per hidden test
    (`change.tests`: node id, F2P or P2P, outcome from the JUnit XML), or None for an answer task."""
    change = t.get("change") if isinstance(t.get("change"), dict) else {}
    patch = t.get("patch")
    if not isinstance(patch, str):
        data = read_capped(folder / "patch.diff", ANSWER_MAX_BYTES * 4)
        patch = data.decode("utf-8", errors="replace") if data is not None else None
    raw = change.get("tests")
    if t.get("kind") != "change" and patch is None and not raw:
        return None
    tests = [{"name": str(x.get("nodeid", "")), "outcome": str(x.get("outcome", "")),
              "detail": "fail to pass" if x.get("group") == "fail_to_pass" else "pass to pass"}
             for x in raw if isinstance(x, dict)] if isinstance(raw, list) else None
    return {"patch": patch, "tests": tests, "note": change.get("note")}


def row(t: dict[str, Any], blob: int) -> dict[str, Any]:
    """What the run table needs about one trial (small: a 1,000-task run stays light)."""
    m = t.get("metrics") or {}
    return {"key": trial_key(t), "repo": t["repo_id"], "task": t["task_id"], "epoch": t.get("epoch") or 0,
            "difficulty": t.get("difficulty", ""), "success": bool(t.get("success")), "score": t.get("score", 0),
            "reason": t.get("failure_reason") or "", "stop": t.get("stop_reason", ""),
            "safety": len(t.get("safety_events") or []), "turns": m.get("turns", 0),
            "tokens": m.get("prompt_tokens", 0) + m.get("completion_tokens", 0), "time": m.get("wall_time_s", 0),
            "commands": m.get("commands_used", 0), "blob": blob}


def detail(t: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Everything the task page shows but the transcript; packed per trial and decoded on open."""
    return {"checks": t.get("output_checks") or [], "safety_events": t.get("safety_events") or [],
            "error": t.get("error"), "metrics": t.get("metrics") or {}, "transcript_ref": t.get("transcript"),
            "answers": answer_files(folder), "change": change_part(t, folder),
            "task_hash": t.get("task_hash"), "repo_commit": t.get("repo_commit"),
            "response_models": t.get("response_models") or []}


def plots(run: Path) -> list[dict[str, str]]:
    out = []
    for p in sorted((run / "results").glob("*.png")):
        data = read_capped(p, PLOT_MAX_BYTES)
        if data is not None and data.startswith(b"\x89PNG"):
            out.append({"name": p.name, "src": "data:image/png;base64," + base64.b64encode(data).decode()})
    return out


def stats(trials: list[dict[str, Any]], epochs: int) -> dict[str, Any] | None:
    try:
        s = run_stats([TaskResult.model_validate(t) for t in trials], epochs)
    except ValidationError:
        return None  # a schema this viewer does not know: the table still shows
    return s.model_dump(mode="json") if s else None


def load_run(run: Path, blobs: list[str]) -> dict[str, Any]:
    """One run's page data; appends its trials' packed details to `blobs`."""
    if not run.is_dir():
        raise RunDirError(f"{run} is not a directory.")
    meta = _load_json(run / "run.json")
    if not isinstance(meta, dict):
        raise RunDirError(f"{run} is not a run directory (no readable run.json).")
    trials = load_trials(run)
    epochs = int(meta.get("epochs") or 1)
    transcripts = load_transcripts(run, trials)
    rows = []
    for t in trials:
        lines = transcripts.get((t.get("transcript") or {}).get("attempt") or "", [])
        blobs.append(pack(detail(t, artifact_dir(run, t, epochs)), lines))
        rows.append(row(t, len(blobs) - 1))
    manifest = _load_json(run / "manifest.json")
    manifest = manifest if isinstance(manifest, dict) else {}
    total = manifest.get("total")
    # At the end of a run the page is written before the manifest is marked complete, so a run
    # is partial when it says why, or when results are missing.
    partial = manifest.get("partial_reason") or (
        "" if not isinstance(total, int) or len(rows) >= total else "Some trials have no result.")
    keep = ("run_id", "model", "started_at", "finished_at", "task_set", "task_set_hash", "sandbox", "policy",
            "epochs", "closed_book", "prompt_version", "response_models")
    return {"name": run.name, "meta": {k: meta.get(k) for k in keep}, "stats": stats(trials, epochs),
            "total": total, "partial": partial or None,
            "plots": plots(run), "rows": rows}
