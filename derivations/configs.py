"""Second derivations (see derivations/__init__.py): configs.

Config-file oracles (oracles/config_files.py, pip_requirements.py, the ini/yaml ones of
repo_facts.py, markdown_tables.py) and the answer-file checkers (answer_checks.py), each computed a second way: YAML
from libyaml's event stream (`configs_yaml`), TOML with tomlkit instead of tomllib, requirement
names by a separate pip-rules line parser (`configs_pip`), setup.py by running it with a
recording `setup()` (`configs_setup`), INI, Markdown tables and query paths by separate parsers
(`configs_text`), answer files through a reader of our own.
"""
from __future__ import annotations

import errno
import os
import posixpath
import stat
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from derivations.configs_pip import RequirementFiles, marker_environment, pep508_name
from derivations.configs_setup import run_install_requires
from derivations.configs_text import fan_out, follow, ini_sections, md_tables, query_steps, unwrap
from derivations.configs_yaml import read_yaml
from evaluator.scoring.oracle_api import OracleError, second_derivation
from evaluator.tasks.specs import ReadLimits


def _file(repo_root: Path, rel: str, kind: str = "file") -> Path:
    """`repo_root/rel`, refused when it leaves the repository or is not a `kind`."""
    norm = posixpath.normpath(rel.replace("\\", "/") or ".")
    target = (repo_root / norm).resolve()
    if posixpath.isabs(norm) or not target.is_relative_to(repo_root.resolve()):
        raise OracleError(f"{rel!r} is outside the repository")
    if not (target.is_dir() if kind == "dir" else target.is_file()):
        raise OracleError(f"no {kind} {rel!r} in the repository")
    return target


def _yaml(repo_root: Path, rel: str) -> Any:
    try:
        text = _file(repo_root, rel).read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OracleError(f"{rel}: not UTF-8: {exc}") from exc
    return read_yaml(text, rel)


def _toml(repo_root: Path, rel: str) -> dict[str, Any]:
    try:
        return tomlkit.parse(_file(repo_root, rel).read_bytes().decode("utf-8")).unwrap()
    except (TOMLKitError, ValueError) as exc:
        raise OracleError(f"{rel}: not valid TOML: {exc}") from exc


@second_derivation(
    "yaml_query",
    method="libyaml event stream built into values here (own YAML 1.1 scalars, 1.2 booleans) + own query scanner")
def yaml_query(*, repo_root: Path, path: str, query: str) -> Any:
    return follow(_yaml(repo_root, path), query_steps(query), path)


@second_derivation("toml_query", method="tomlkit (not tomllib) + own query scanner")
def toml_query(*, repo_root: Path, path: str, query: str) -> Any:
    return follow(_toml(repo_root, path), query_steps(query), path)


@second_derivation("yaml_values", method="libyaml event stream built into values here + breadth-first `*` fan-out")
def yaml_values(*, repo_root: Path, path: str, query: str) -> list[Any]:
    parts = [p for p in query.split(".") if p]
    if not parts:
        raise OracleError("empty query")
    return fan_out(_yaml(repo_root, path), parts)


def _schedule_crons(doc: Any) -> list[str]:
    """`on.schedule[*].cron` strings of a workflow document (GitHub's `on:` key)."""
    on = doc.get("on") if isinstance(doc, dict) else None
    schedule = on.get("schedule") if isinstance(on, dict) else None
    return [c for c in fan_out(schedule, ["*", "cron"]) if isinstance(c, str)] if isinstance(schedule, list) else []


@second_derivation(
    "workflow_cron_schedules",
    method="libyaml event stream built into values here, on.schedule[*].cron by path fan-out")
def workflow_cron_schedules(*, repo_root: Path, path: str) -> list[str]:
    return sorted(_schedule_crons(_yaml(repo_root, path)))


@second_derivation("workflows_with_cron", method="os.scandir of the directory + libyaml event stream per workflow")
def workflows_with_cron(*, repo_root: Path, dir: str = ".github/workflows") -> list[str]:
    base = _file(repo_root, dir, kind="dir")
    found = []
    with os.scandir(base) as entries:
        for entry in entries:
            if entry.is_file() and os.path.splitext(entry.name)[1] in (".yml", ".yaml"):
                rel = f"{dir.strip('/')}/{entry.name}" if dir.strip("/") not in ("", ".") else entry.name
                try:
                    doc = _yaml(repo_root, rel)
                except OracleError:
                    continue  # GitHub ignores a workflow it cannot parse; so does the question
                if _schedule_crons(doc):
                    found.append(posixpath.normpath(rel))
    return sorted(found)


@second_derivation(
    "requirements_list",
    method="own pip-rules line parser (-r/-e/#egg=/URLs/markers), PEP 508 name regex + packaging canonicalize_name")
def requirements_list(*, repo_root: Path, path: str, python_version: str | None = None) -> list[str]:
    env = marker_environment(python_version) if python_version else None
    return sorted(RequirementFiles(repo_root, env).names(_file(repo_root, path)))


@second_derivation(
    "pyproject_dependencies",
    method="tomlkit (not tomllib) + PEP 508 name regex + packaging canonicalize_name")
def pyproject_dependencies(*, repo_root: Path, path: str = "pyproject.toml", extra: str | None = None) -> list[str]:
    data = _toml(repo_root, path)
    project = data.get("project")
    if isinstance(project, dict):
        specs = (project.get("optional-dependencies") or {}).get(extra) if extra else project.get("dependencies")
        if not isinstance(specs, list):
            raise OracleError(f"{path}: the [project] table lists no {'extra ' + extra if extra else 'dependencies'}")
        return sorted({pep508_name(s)[0] for s in specs})
    poetry = (data.get("tool") or {}).get("poetry")
    if not isinstance(poetry, dict):
        raise OracleError(f"{path}: has no [project] or [tool.poetry] table")
    if extra:
        names = (poetry.get("extras") or {}).get(extra)
        if not isinstance(names, list):
            raise OracleError(f"{path}: [tool.poetry.extras] has no {extra!r}")
    else:
        names = [n for n in poetry.get("dependencies") or {} if n.lower() != "python"]
    return sorted({pep508_name(n)[0] for n in names})


@second_derivation(
    "setup_py_install_requires",
    method="runs setup.py in a throw-away copy with setuptools.setup recording install_requires")
def setup_py_install_requires(*, repo_root: Path, path: str = "setup.py") -> list[str]:
    specs = run_install_requires(repo_root, _file(repo_root, path))
    return sorted({pep508_name(s)[0] for s in specs if s.strip() and not s.strip().startswith("#")})


@second_derivation(
    "ini_value",
    method="own INI line parser written from configparser's documented rules (not configparser)")
def ini_value(*, repo_root: Path, path: str, section: str, key: str) -> str:
    text = _file(repo_root, path).read_bytes().decode("utf-8", errors="replace")
    top = "\x00top"  # a file without headers is one unnamed section
    try:
        sections = ini_sections(text if section else f"[{top}]\n{text}")
    except OracleError as exc:
        raise OracleError(f"{path}: {exc}") from None
    values = sections.get(section or top)
    if values is None:
        raise OracleError(f"{path}: no section [{section}]")
    if key.lower() not in values:
        raise OracleError(f"{path}: no key {key!r} in [{section}]")
    return values[key.lower()].strip()


def _md_table(repo_root: Path, path: str, table: int) -> tuple[list[str], list[list[str]]]:
    tables = md_tables(_file(repo_root, path).read_bytes().decode("utf-8", errors="replace"))
    if not -len(tables) <= table < len(tables):
        raise OracleError(f"{path}: {len(tables)} pipe tables, none at index {table}")
    return tables[table]


@second_derivation(
    "markdown_table_row_count",
    method="one multi-line regular expression over the text (fences blanked first)")
def markdown_table_row_count(*, repo_root: Path, path: str, table: int = 0) -> int:
    return len(_md_table(repo_root, path, table)[1])


@second_derivation(
    "markdown_table_column",
    method="one multi-line regular expression over the text; emphasis by a back-referencing regex")
def markdown_table_column(*, repo_root: Path, path: str, column: str, table: int = 0,
                          strip_emphasis: bool = True) -> list[str]:
    header, rows = _md_table(repo_root, path, table)
    names = [unwrap(h) for h in header]
    if column not in names:
        raise OracleError(f"{path}: table {table} has no column {column!r}")
    at = names.index(column)
    cells = [row[at] if at < len(row) else "" for row in rows]
    return [unwrap(c) for c in cells] if strip_emphasis else cells


def _answer_bytes(answer_dir: Path, rel: str) -> bytes | None:
    """The answer file's bytes, opened one component at a time with O_NOFOLLOW (no symlink is
    followed, only a regular file under the cap is read); None otherwise."""
    parts = [p for p in posixpath.normpath(rel).split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    fds = [os.open(answer_dir, os.O_RDONLY | os.O_DIRECTORY)]
    try:
        for part in parts[:-1]:
            fds.append(os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fds[-1]))
        fds.append(os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fds[-1]))
        info = os.fstat(fds[-1])
        cap = ReadLimits().answer_max_bytes
        if not stat.S_ISREG(info.st_mode) or info.st_size > cap:
            return None
        with os.fdopen(os.dup(fds[-1]), "rb") as f:
            data = f.read(cap + 1)
        return data if len(data) <= cap else None
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR, errno.EACCES, errno.EISDIR):
            return None
        raise
    finally:
        for fd in fds:
            os.close(fd)


@second_derivation("answer_md_contains", method="own no-follow reader + byte search of each UTF-8 encoded needle")
def answer_md_contains(*, repo_root: Path, answer_dir: Path, path: str, must_contain: list[str]) -> bool:
    data = _answer_bytes(answer_dir, path)
    return data is not None and all(data.find(s.encode("utf-8")) >= 0 for s in must_contain)


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _answer_pairs(text: str) -> dict[str, str]:
    """`key: value` lines split at the first colon (keys lower-cased, `#` lines skipped)."""
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
    pairs = {}
    for line in text.splitlines():
        key, colon, value = line.partition(":")
        key = key.strip()
        if colon and key and set(key) <= allowed and not line.lstrip().startswith("#"):
            pairs[key.lower()] = value.strip()
    return pairs


@second_derivation(
    "answer_md_kv_matches",
    method="own no-follow reader and key: value split; the expected facts from os.scandir")
def answer_md_kv_matches(*, repo_root: Path, answer_dir: Path, path: str, repo_id: str,
                         exclude_top_level: list[str], exclude_hidden: bool = True) -> bool:
    data = _answer_bytes(answer_dir, path)
    if data is None:
        return False
    pairs = _answer_pairs(data.decode("utf-8", errors="replace"))
    with os.scandir(repo_root) as entries:
        top = sum(1 for e in entries if e.name not in exclude_top_level and not (exclude_hidden and e.name[:1] == "."))
    license_file = any(_regular(repo_root / n) for n in ("LICENSE", "LICENSE.md"))
    said = pairs.get("has_license", "").lower()
    said_license = True if said in ("true", "yes", "y", "1") else False if said in ("false", "no", "n", "0") else None
    try:
        said_top = int(pairs.get("top_level_entries", ""))
    except ValueError:
        return False
    return pairs.get("repo_id") == repo_id and said_top == top and said_license == license_file


__all__ = [
    "answer_md_contains", "answer_md_kv_matches", "ini_value", "markdown_table_column", "markdown_table_row_count",
    "pyproject_dependencies", "requirements_list", "setup_py_install_requires", "toml_query",
    "workflow_cron_schedules", "workflows_with_cron", "yaml_query", "yaml_values",
]  # fmt: skip
