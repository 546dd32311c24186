"""Requirements files read the way `pip install -r` reads them, names and markers by `packaging`.

pip's format (https://pip.pypa.io/en/stable/reference/requirements-file-format/): a `\\` at the
end of a line joins it with the next; `#` at the start of a line or after whitespace starts a
comment; `-r`/`--requirement FILE` includes another file (relative to the including file);
`-c`/`--constraint FILE` only constrains versions, so it adds no names; `-e`/`--editable
URL-or-path` installs a project (a local path is relative to the current directory, taken as the
repository root, not to the requirements file); other options (`--index-url`, `--hash=`, ...) name nothing.
A requirement line is a PEP 508 string (`name[extras] spec ; marker` or `name @ url`), or a bare
URL/path, whose name comes from its `#egg=` fragment or from a wheel/sdist file name.

Kept apart from `config_files` so the oracle there stays a thin wrapper.
"""
from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, canonicalize_name
from packaging.utils import parse_sdist_filename, parse_wheel_filename

from evaluator.scoring.oracle_api import OracleError
from oracles._common import relpath

_INCLUDE = {"-r", "--requirement"}
_CONSTRAINT = {"-c", "--constraint"}
_EDITABLE = {"-e", "--editable"}
_EGG = re.compile(r"[#&]egg=([^&\s]+)")
_COMMENT = re.compile(r"(^|\s+)#.*$")


def normalize_name(name: str) -> str:
    """PEP 503 normalised name (lower case, runs of `-`, `_`, `.` become one `-`)."""
    return canonicalize_name(name)


def name_from_url(url: str) -> str | None:
    """The distribution a bare URL or path names: its `#egg=` fragment, else a wheel or sdist
    file name (`pkg-1.0-py3-none-any.whl`, `pkg-1.0.tar.gz`); None when only a build would tell."""
    egg = _EGG.search(url)
    if egg:
        return normalize_name(egg.group(1).split("[", 1)[0])
    filename = url.split("#", 1)[0].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[0])
        if filename.endswith((".tar.gz", ".zip")):
            return str(parse_sdist_filename(filename)[0])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None


def _is_url_or_path(spec: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", spec)) or spec.startswith((".", "/", "~"))


def requirement_name(spec: str, env: dict[str, str] | None = None) -> str | None:
    """Normalised name of one requirement string (PEP 508 via `packaging`, or a bare URL/path
    with `#egg=` or a wheel/sdist file name). With `env`, a requirement whose marker is false
    there gives None, as pip skips it; without, markers are not evaluated. OracleError for an
    invalid requirement or a URL/path whose name only a build would tell."""
    spec = spec.strip()
    if _is_url_or_path(spec):
        name = name_from_url(spec)
        if name is None:
            raise OracleError(f"cannot name {spec!r} without building it (add #egg=name)")
        return name
    try:
        req = Requirement(spec)
    except InvalidRequirement as exc:
        raise OracleError(f"invalid requirement {spec!r}: {exc}") from exc
    if env is not None and req.marker is not None and not req.marker.evaluate(env):
        return None
    return normalize_name(req.name)


def _local_project_name(path: Path) -> str | None:
    """`[project] name` of a local project directory (what `-e .` installs), if it declares one."""
    try:
        data: dict[str, Any] = tomllib.loads((path / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    name = data.get("project", {}).get("name")
    return normalize_name(name) if isinstance(name, str) else None


def _logical_lines(text: str) -> list[str]:
    """Lines after pip's line joining (a trailing backslash; pip does not continue a whole-line
    comment, so `# note \\` does not swallow the next line) and comment stripping."""
    out, pending = [], ""
    for raw in text.splitlines():
        comment = raw.lstrip().startswith("#")
        if raw.endswith("\\") and not comment:
            pending += raw[:-1]
            continue
        out.append(_COMMENT.sub("", pending + (" " + raw if comment else raw)).strip())
        pending = ""
    return out + ([_COMMENT.sub("", pending).strip()] if pending else [])


def _option(line: str) -> tuple[str, str] | None:
    """(`-r`, `file`) for `-r file`, `-rfile`, `--requirement=file`, ...; None for a requirement."""
    if not line.startswith("-"):
        return None
    m = re.match(r"^(--[a-z-]+)(?:=|\s+)?(.*)$", line) or re.match(r"^(-[a-zA-Z])\s*(.*)$", line)
    if not m:
        return line, ""
    value = m.group(2).strip()
    try:
        value = shlex.split(value)[0] if value else ""
    except ValueError:
        pass
    return m.group(1), value


class RequirementsReader:
    """Reads one requirements file and its includes; each file is read once (include cycles end)."""

    def __init__(self, repo_root: Path, env: dict[str, str] | None = None) -> None:
        self.repo_root = repo_root
        self.env = env
        self.seen: set[Path] = set()

    def names(self, path: Path) -> set[str]:
        self.seen.add(path.resolve())
        where = relpath(self.repo_root, path)
        names: set[str] = set()
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(_logical_lines(text), 1):
            if not line:
                continue
            option = _option(line)
            try:
                if option is None:
                    name = requirement_name(line.split(" --", 1)[0], self.env)  # per-line options like --hash
                elif option[0] in _INCLUDE:
                    names |= self._include(path, option[1], where)
                    continue
                elif option[0] in _EDITABLE:
                    name = self._editable(path, option[1])
                else:
                    continue  # -c constraints and global options name no distribution
            except OracleError as exc:
                raise OracleError(f"{where} line {number}: {exc}") from None
            if name:
                names.add(name)
        return names

    def _include(self, path: Path, target_rel: str, where: str) -> set[str]:
        target = path.parent / target_rel
        inside = target.resolve().is_relative_to(self.repo_root.resolve())
        if not target_rel or not inside or not target.is_file():
            raise OracleError(f"{where}: included requirements file {target_rel!r} not found")
        return set() if target.resolve() in self.seen else self.names(target)

    def _editable(self, path: Path, target: str) -> str:
        name = name_from_url(target)
        # pip takes a local editable path from its working directory (the repository root), not from
        # the requirements file, and installs `.[dev]` as the project `.`
        local = (self.repo_root / re.sub(r"\[[^\]]*\]$", "", target.split("#", 1)[0])).resolve()
        if name is None and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target) and local.is_relative_to(self.repo_root.resolve()):
            name = _local_project_name(local)
        if name is None:
            raise OracleError(f"cannot name the editable project {target!r} without building it (add #egg=name)")
        return name


def requirements_names(repo_root: Path, path: Path, env: dict[str, str] | None = None) -> set[str]:
    """Names `pip install -r path` installs directly (see the module docstring)."""
    return RequirementsReader(repo_root, env).names(path)


def marker_env(python_version: str) -> dict[str, str]:
    """The running interpreter's marker environment with `python_version` ("3.10") pinned, so
    an answer that evaluates markers does not depend on which Python runs the harness."""
    env = dict(default_environment())
    env["python_version"] = python_version
    env["python_full_version"] = python_version + ".0"
    return env
