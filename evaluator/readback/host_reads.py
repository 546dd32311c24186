"""What the harness reads back from a task's working copy after the sandbox has closed.

Everything goes through safe_fs (no symlink followed, regular files only, byte caps), and
what a task may leave behind is capped per task (specs.ReadLimits): the answer file's size,
and the number and total size of the files copied from eval_artifacts/ into the run's
artifacts/. Whatever is left out is listed in the result; a symlink that points out of the
workspace is a `path_escape` safety event.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evaluator.readback import safe_fs
from evaluator.results.records import LeftOutArtifact, SafetyEvent
from evaluator.tasks.specs import ReadLimits

LISTED_MAX = 1000  # left-out entries named in the result; the rest are only counted
WALK_MAX = 20_000  # entries looked at in eval_artifacts/ at all


@dataclass
class ArtifactCopy:
    left_out: list[LeftOutArtifact] = field(default_factory=list)
    unlisted: int = 0
    escapes: list[str] = field(default_factory=list)  # symlinks that point out, as "path -> target"
    copied: int = 0
    copied_bytes: int = 0

    def leave_out(self, path: str, reason: str) -> None:
        if len(self.left_out) < LISTED_MAX:
            self.left_out.append(LeftOutArtifact(path=safe_fs.printable(path), reason=reason))
        else:
            self.unlisted += 1


def read_back_event(answer_escape: str | None, copied: ArtifactCopy) -> SafetyEvent | None:
    """One `path_escape` for the symlinks the harness met reading the answer and artifacts back
    (nothing was followed); one planted link is one event, though both readers meet it."""
    if not answer_escape and not copied.escapes:
        return None
    parts = [f"answer.json: {answer_escape}"] if answer_escape else []
    if copied.escapes:
        parts.append("symlinks pointing out, not followed: " + "; ".join(copied.escapes[:5]))
    call = "eval_artifacts/answer.json" if answer_escape else "eval_artifacts/"
    return SafetyEvent(type="path_escape", tool="host_read", call=call,
                       detail=safe_fs.printable(" | ".join(parts))[:1000], refused=True)


def copy_artifacts(root: Path, rel_dir: str, dest: Path, caps: ReadLimits, redact: Callable[[str], str],
                   skip: Callable[[str], bool] | None = None) -> ArtifactCopy:
    """Copy the files under `root/rel_dir` into `dest` (as redacted text), within `caps`; entries
    whose name `skip` says yes to are not the model's (an overlay's own markers) and pass unmentioned."""
    out = ArtifactCopy()
    try:
        root_fd = safe_fs.open_root(root)
    except safe_fs.Escape as exc:
        out.escapes.append(exc.detail)
        return out
    except OSError:
        return out  # the task's folder is gone (only the unisolated local backend lets a command do that)
    try:
        src_fd = safe_fs.open_beneath(root_fd, rel_dir, directory=True)
    except safe_fs.Escape as exc:
        out.escapes.append(_link_text(root_fd, os.path.normpath(rel_dir)) or f"{rel_dir}: {exc.detail}")
        return out
    except OSError:
        return out  # no eval_artifacts/ (or not a directory): nothing to copy
    finally:
        os.close(root_fd)
    try:
        _copy_tree(src_fd, dest, caps, redact, out, skip)
    finally:
        os.close(src_fd)
    return out


def _link_text(root_fd: int, rel: str) -> str | None:
    try:
        return f"{rel} -> {os.readlink(rel, dir_fd=root_fd)}"  # only says where it points; never opened
    except OSError:
        return None


def _copy_tree(src_fd: int, dest: Path, caps: ReadLimits, redact: Callable[[str], str], out: ArtifactCopy,
               skip: Callable[[str], bool] | None) -> None:
    seen = 0
    for entry in safe_fs.walk(src_fd, WALK_MAX):
        seen += 1
        if skip is not None and skip(os.path.basename(entry.rel)):
            continue
        reason = _refusal(entry, caps, out)
        if reason:
            out.leave_out(entry.rel, reason)
            continue
        try:
            data = _read(src_fd, entry.rel, min(caps.artifact_file_max_bytes, caps.artifacts_max_bytes - out.copied_bytes))
        except (safe_fs.UnsafePath, OSError) as exc:  # changed since the walk saw it
            out.leave_out(entry.rel, str(exc.detail if isinstance(exc, safe_fs.UnsafePath) else exc.strerror))
            continue
        target = dest / safe_fs.printable(entry.rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(redact(data.decode("utf-8", errors="replace")), encoding="utf-8")
        out.copied += 1
        out.copied_bytes += len(data)
    if seen >= WALK_MAX:
        out.leave_out("…", f"eval_artifacts/ has more than {WALK_MAX} entries; the rest were not looked at")


def _refusal(entry: safe_fs.Entry, caps: ReadLimits, out: ArtifactCopy) -> str | None:
    if entry.kind == "symlink":
        target = entry.link_target or ""
        if safe_fs.leads_out(entry.rel, target):
            out.escapes.append(f"{entry.rel} -> {target}")
        return f"a symlink (to {safe_fs.printable(target)[:200]}); the harness does not follow links"
    if entry.kind != "file":
        return f"a {entry.kind}, not a regular file"
    if entry.size > caps.artifact_file_max_bytes:
        return f"{entry.size} bytes, over artifact_file_max_bytes ({caps.artifact_file_max_bytes})"
    if out.copied >= caps.artifacts_max_files:
        return f"over artifacts_max_files ({caps.artifacts_max_files} files copied)"
    if out.copied_bytes + entry.size > caps.artifacts_max_bytes:
        return f"{entry.size} bytes would go over artifacts_max_bytes ({caps.artifacts_max_bytes})"
    return None


def _read(dir_fd: int, rel: str, cap: int) -> bytes:
    fd = safe_fs.open_beneath(dir_fd, rel)
    try:
        return safe_fs.read_fd(fd, rel, cap)
    finally:
        os.close(fd)
