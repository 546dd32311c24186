"""The `change:` block of an L2 task (`kind: change`): hidden tests decide whether the model's change works.

Like SWE-bench: `fail_to_pass` are the tests the change must make pass, `pass_to_pass` the tests
it must not break. Hidden test files are written next to the task file (in a `_`-prefixed
folder, which the task loader skips) or inline; the loader reads them into `content`, so a
loaded task is self-contained and its hash covers them.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_NODE_RE = re.compile(r"^[A-Za-z0-9_./-]+\.py(::[^\s:][^\s]*)*$")
MAX_HIDDEN_BYTES = 1_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _repo_relative(path: str) -> str:
    norm = os.path.normpath(path)
    if path.startswith("/") or norm == "." or norm.startswith("..") or "\\" in path or "\0" in path:
        raise ValueError(f"{path!r} must be a relative path inside the repository")
    return norm


class HiddenFile(_Strict):
    """One hidden test file: where it goes in the repo, and its text (inline or from `source`)."""

    path: str = Field(description="Path inside the repository the file is copied to before the tests run.")
    source: str | None = Field(None, description="File next to the task file (relative to it) holding the text.")
    content: str | None = Field(None, description="The text inline (the loader fills it from `source`).")
    visible: bool = Field(False, description="Also placed in the model's working copy at the start (a support file "
                          "such as a conftest the tests need, so the model can run them as they are graded); "
                          "grading still copies this version in over whatever the model made of it.")

    @field_validator("path")
    @classmethod
    def _inside(cls, v: str) -> str:
        return _repo_relative(v)

    @model_validator(mode="after")
    def _one_source(self) -> "HiddenFile":
        if (self.source is None) == (self.content is None):
            raise ValueError(f"hidden test {self.path}: give exactly one of `source` and `content`")
        return self


class GoldPatch(_Strict):
    """The reference change, for validation and builtin/oracle: a .diff file next to the task, or inline."""

    file: str | None = Field(None, description="A unified diff next to the task file (relative to it).")
    diff: str | None = Field(None, description="The unified diff inline (the loader fills it from `file`).")

    @model_validator(mode="after")
    def _one_source(self) -> "GoldPatch":
        if (self.file is None) == (self.diff is None):
            raise ValueError("gold_patch: give exactly one of `file` and `diff`")
        return self


class Injection(_Strict):
    """A bug the harness puts into the working copy before the model starts (a recipe, not a diff:
    it carries no line of the repository). See evaluator/tasks/injection.py."""

    file: str = Field(description="The Python file to mutate, relative to the repository root.")
    function: str = Field(description="Qualified name of the function in that file (`Class.method`, `outer.inner`).")
    mutation: Literal["compare_op", "arith_op", "off_by_one", "drop_branch", "swap_args", "wrong_default",
                      "remove_body"] = Field(description="What kind of edit.")
    occurrence: int = Field(0, ge=0, description="Which candidate of that kind in the function, in source order (0 = first).")
    source_sha256: str = Field(pattern=r"^[0-9a-f]{16,64}$",
                               description="sha256 (hex prefix) of the function's source lines at the pinned commit; "
                                           "a mismatch means the recipe is stale.")

    @field_validator("file")
    @classmethod
    def _inside(cls, v: str) -> str:
        return _repo_relative(v)


class ChangeSpec(_Strict):
    """What grades a change task."""

    hidden_tests: list[HiddenFile] = Field(default_factory=list,
                                           description="Test files the model never sees, copied in over whatever it wrote.")
    fail_to_pass: list[str] = Field(min_length=1, description="pytest node ids that fail before the change and must pass after.")
    pass_to_pass: list[str] = Field(default_factory=list, description="pytest node ids that pass before and must still pass.")
    test_timeout_s: float = Field(300, gt=0, description="Wall-clock limit of the whole hidden test run.")
    gold_patch: GoldPatch | None = None
    inject: Injection | None = Field(None, description="A bug injected into the working copy; the gold patch is then "
                                                      "computed (its reverse), never written in the task.")

    @field_validator("fail_to_pass", "pass_to_pass")
    @classmethod
    def _node_ids(cls, ids: list[str]) -> list[str]:
        for node in ids:
            if not _NODE_RE.match(node) or ".." in node.split("::")[0]:
                raise ValueError(f"{node!r} is not a pytest node id such as tests/test_x.py::test_name")
        if len(set(ids)) != len(ids):
            raise ValueError("a node id is listed twice")
        return ids

    @model_validator(mode="after")
    def _disjoint(self) -> "ChangeSpec":
        both = sorted(set(self.fail_to_pass) & set(self.pass_to_pass))
        if both:
            raise ValueError(f"in both fail_to_pass and pass_to_pass: {', '.join(both)}")
        if self.inject is not None and self.gold_patch is not None:
            raise ValueError("an injected task's gold patch is computed from `inject`: leave out `gold_patch`")
        return self


def _read_beside(task_path: Path, rel: str, what: str) -> str:
    """The text of `rel`, a file in the task file's folder tree (no absolute paths, no `..`)."""
    base = task_path.parent.resolve()
    target = (base / rel).resolve()
    if os.path.isabs(rel) or not target.is_relative_to(base):
        raise ValueError(f"{what} {rel!r} must be inside the task's folder")
    try:
        data = target.read_bytes()
    except OSError as exc:
        raise ValueError(f"{what} {rel!r}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_HIDDEN_BYTES:
        raise ValueError(f"{what} {rel!r} is larger than {MAX_HIDDEN_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{what} {rel!r} is not UTF-8 text") from None


def resolve_files(change: ChangeSpec, task_path: Path) -> ChangeSpec:
    """The same spec with every `source`/`file` reference read into inline text (ValueError names the file)."""
    hidden = [h if h.content is not None else h.model_copy(update={"content": _read_beside(task_path, h.source or "", "hidden test")})
              for h in change.hidden_tests]
    gold = change.gold_patch
    if gold is not None and gold.diff is None:
        gold = gold.model_copy(update={"diff": _read_beside(task_path, gold.file or "", "gold patch")})
    return change.model_copy(update={"hidden_tests": hidden, "gold_patch": gold})
