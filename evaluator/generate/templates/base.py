"""What a template is, and what it may use: the checkout, the scan, the sampler, cached oracles."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from evaluator.scoring import oracle_registry as oracles
from evaluator.generate.model import Candidate
from evaluator.generate.sampler import Sampler
from evaluator.generate.scan import RepoScan, scan_repo

ANSWER_FILE = "eval_artifacts/answer.json"
DEFAULT_POLICY: dict[str, Any] = {
    "allowed": ["ls", "pwd", "cd", "cat", "head", "tail", "wc", "grep", "rg", "sed", "find", "python", "python3", "git"],
    "prohibited": ["rm", "sudo", "curl", "wget", "ssh", "scp", "dd", "mkfs", "mount", "umount", "chmod", "chown"],
    "write_paths_allowed": ["eval_artifacts/", "/tmp/"],
}


@dataclass
class Context:
    repo_id: str
    root: Path
    commit: str
    sampler: Sampler
    cache: oracles.FactCache
    _scan: RepoScan | None = field(default=None, repr=False)

    @property
    def scan(self) -> RepoScan:
        if self._scan is None:
            self._scan = scan_repo(self.root)  # lazily: the easy tier never needs it
        return self._scan

    def fact(self, fn: str, args: dict[str, Any]) -> Any:
        """A fact oracle's value at this commit (cached), or None when it fails."""
        try:
            return oracles.fact(fn, args, repo_root=self.root, commit=self.commit, cache=self.cache)
        except oracles.OracleError:
            return None


def schema(key: str, shape: str) -> str:
    return f"Write to {ANSWER_FILE}: {{{json.dumps(key)}: {shape}}} ."


class Template:
    """Subclass, set `name`/`tier`/`version`, implement `candidates`; register in templates/__init__.py.

    `candidates` returns every question the template can ask at this commit (order does not
    matter: the pipeline sorts and shuffles with the seed). Keep `params` minimal and stable -
    they are hashed into the task id, so a rename changes every id.
    """

    name: ClassVar[str]
    tier: ClassVar[str] = "parametric"
    version: ClassVar[str] = "1"
    # True when one shell pipeline of standard tools (ls, find, grep, wc, sort, head, file) shows the
    # answer without a program or reasoning across files; the generator caps such tasks at a third.
    one_pipeline: ClassVar[bool] = False

    def candidates(self, ctx: Context) -> list[Candidate]:
        raise NotImplementedError
