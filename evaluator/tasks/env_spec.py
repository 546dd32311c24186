"""The `env:` block of a repo file: a Python environment the repository's code and tests run in.

The harness builds it once per (repo, commit, recipe hash) into the clone cache, with network,
before any task runs (tasks/env_cache.py), and mounts it read-only into every sandbox of the
repo's tasks. Files the recipe names are relative to the repo file; the loader makes them
absolute and reads their bytes into the hash, so editing a requirements file rebuilds the env.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Bumped when the way an env is built changes, so every cached env is rebuilt once.
BUILD_VERSION = "1"


class EnvRecipe(BaseModel):
    """How to build a repository's environment (`env:` in repos/<id>.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    python: str | None = Field(None, description="Interpreter the venv is made from: a path or a name on PATH "
                                                 "(python3.11); default: the interpreter running the harness.")
    requirements: list[str] = Field(default_factory=list, description="pip requirement lines; pin them (name==version).")
    requirements_file: str | None = Field(None, description="A requirements file next to the repo file (pip -r).")
    constraints_file: str | None = Field(None, description="A constraints file next to the repo file (pip -c).")
    find_links: list[str] = Field(default_factory=list, description="pip --find-links: folders (relative to the repo "
                                                                     "file) or URLs holding wheels or sdists.")
    no_index: bool = Field(False, description="pip --no-index: install only from find_links (offline builds).")
    index_url: str | None = Field(None, description="pip --index-url (default: pip's own configuration).")
    build_timeout_s: int = Field(900, ge=10, description="Wall-clock limit of the whole build.")

    @field_validator("requirements")
    @classmethod
    def _lines(cls, v: list[str]) -> list[str]:
        for line in v:
            # One requirement per entry; an option line would change how pip runs, which has its own fields.
            if not line.strip() or line.lstrip().startswith("-") or "\n" in line or "\0" in line:
                raise ValueError(f"{line!r} is not one requirement (options have fields of their own)")
        return [line.strip() for line in v]

    def resolved(self, base: Path) -> "EnvRecipe":
        """The recipe with its local files and folders made absolute (relative to the repo file's folder)."""
        def local(p: str | None) -> str | None:
            return None if p is None else str((base / p).resolve())
        links = [x if "://" in x else str((base / x).resolve()) for x in self.find_links]
        return self.model_copy(update={"requirements_file": local(self.requirements_file),
                                       "constraints_file": local(self.constraints_file), "find_links": links})

    def files(self) -> list[Path]:
        """The recipe's files and every file they pull in with -r/-c (pip's nesting), each once."""
        out: list[Path] = []
        for p in (self.requirements_file, self.constraints_file):
            if p:
                _with_includes(Path(p), out)
        return out

    def recipe_hash(self, python_id: str) -> str:
        """sha256 of what decides the env: the interpreter, every field, the files' bytes and what the
        local find_links folders hold (a new wheel there is a new env)."""
        h = hashlib.sha256()
        h.update(json.dumps({"build": BUILD_VERSION, "python": python_id, **self.model_dump()}, sort_keys=True).encode())
        for path in self.files():
            h.update(b"\0" + (path.read_bytes() if path.is_file() else b"(missing)"))
        for link in self.find_links:
            if "://" not in link and os.path.isdir(link):
                h.update(b"\0" + "\n".join(sorted(os.listdir(link))).encode())
        return h.hexdigest()


_INCLUDE = re.compile(r"^\s*(?:-r|-c|--requirement|--constraint)(?:\s+|=)(\S+)")


def _with_includes(path: Path, out: list[Path]) -> None:
    """`path`, then the files its -r/-c lines name (relative to it), depth first; a cycle stops."""
    if path in out:
        return
    out.append(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return  # hashed as missing; pip names the file when the build runs
    for line in lines:
        m = _INCLUDE.match(line)
        if m and "://" not in m.group(1):
            _with_includes((path.parent / m.group(1)).resolve(), out)
