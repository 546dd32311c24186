"""Requirement names read a second way for `derivations.configs`.

The oracle (`oracles/pip_requirements.py`) names each requirement with
`packaging.requirements.Requirement` and `packaging.utils.parse_wheel_filename`/`parse_sdist_filename`.
Here a separate line parser follows pip's documented rules
(https://pip.pypa.io/en/stable/reference/requirements-file-format/): lines joined at a trailing
backslash (not after a whole-line comment, as pip does), `#` comments at line start or after
whitespace, options tokenised like a command line, per-requirement options after the first
`-`-token; names come from the PEP 508 name grammar (a regular expression), a URL's `#egg=` fragment
(`urllib.parse`) or a wheel/sdist file name (the file-name specs), and are normalised with
`packaging.utils.canonicalize_name` (PEP 503). Markers are evaluated with `packaging.markers.Marker`
in an environment built here from `platform`/`sys` with the Python version pinned.
Editable local paths are taken relative to the repository root (pip's current directory), as pip
does; `-r`/`-c` files relative to the including file.
"""
from __future__ import annotations

import configparser
import os
import platform
import re
import shlex
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import tomlkit
from packaging.markers import InvalidMarker, Marker
from packaging.utils import canonicalize_name

from evaluator.scoring.oracle_api import OracleError

# PEP 508: a name starts and ends with a letter or digit; what may follow it on the line.
_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(.*)", re.S)
_AFTER_NAME = ("[", "(", "<", ">", "=", "!", "~", ";", "@")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_WHEEL = re.compile(r"([^-]+)-[^-]+(?:-[^-]+)?-[^-]+-[^-]+-[^-]+\.whl", re.I)
_SDIST = re.compile(r"(.+?)-([0-9][^-]*)\.(?:tar\.gz|zip)", re.I)
_WITH_VALUE = {"-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host", "--no-binary",
               "--only-binary", "--use-feature", "--hash", "--config-settings", "--global-option"}
_OWN = {"-r": "include", "--requirement": "include", "-c": "constraint", "--constraint": "constraint",
        "-e": "editable", "--editable": "editable"}


def pep508_name(spec: str) -> tuple[str, str]:
    """(normalised name, the rest of the line) of a PEP 508 string; OracleError when it has none."""
    m = _NAME.fullmatch(spec)
    rest = m.group(2).strip() if m else ""
    if not m or (rest and not rest.startswith(_AFTER_NAME)):
        raise OracleError(f"not a PEP 508 requirement: {spec!r}")
    return canonicalize_name(m.group(1)), rest


def marker_environment(python_version: str) -> dict[str, str]:
    """PEP 508's marker variables for this machine, with `python_version` pinned ("3.10")."""
    impl = sys.implementation
    return {
        "os_name": os.name, "sys_platform": sys.platform, "platform_machine": platform.machine(),
        "platform_python_implementation": platform.python_implementation(), "platform_release": platform.release(),
        "platform_system": platform.system(), "platform_version": platform.version(),
        "implementation_name": impl.name,
        "implementation_version": ".".join(str(p) for p in impl.version[:3]),
        "python_version": python_version, "python_full_version": f"{python_version}.0", "extra": "",
    }


def _marker_true(marker: str, env: dict[str, str] | None) -> bool:
    if env is None or not marker.strip():
        return True
    try:
        return Marker(marker.strip()).evaluate(env)
    except InvalidMarker as exc:
        raise OracleError(f"invalid marker {marker!r}: {exc}") from exc


def spec_name(spec: str, env: dict[str, str] | None = None) -> str | None:
    """Name of one requirement string (PEP 508, or a bare URL/path); None when its marker is false."""
    spec = spec.strip()
    if _SCHEME.match(spec) or spec.startswith((".", "/", "~")):
        url, marker = _url_and_marker(spec)
        return url_name(url) if _marker_true(marker, env) else None
    name, rest = pep508_name(spec)
    if rest.startswith("@"):
        marker = _url_and_marker(rest)[1]
    else:
        marker = rest.partition(";")[2]
    return name if _marker_true(marker, env) else None


def _url_and_marker(text: str) -> tuple[str, str]:
    """After a URL a marker needs whitespace before its `;` (a `;` may be part of the URL)."""
    url, _, marker = re.sub(r"\s+;", "\0;", text, count=1).partition("\0;")
    return url.strip(), marker


def url_name(url: str) -> str:
    """The distribution a URL or path names: `#egg=`, else its wheel or sdist file name."""
    parts = urlsplit(url)
    egg = parse_qs(parts.fragment).get("egg")
    if egg:
        return canonicalize_name(egg[0].split("[", 1)[0])
    filename = unquote(parts.path).rstrip("/").split("/")[-1]
    for pattern in (_WHEEL, _SDIST):
        m = pattern.fullmatch(filename)
        if m:
            return canonicalize_name(m.group(1))
    raise OracleError(f"cannot name {url!r} without building it (add #egg=name)")


def _joined_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, logical line) after pip's joining and comment stripping."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        whole_comment = line.lstrip().startswith("#")
        if not pending:
            start = number
        if line.endswith("\\") and not whole_comment:
            pending.append(line[:-1])
            continue
        pending.append(" " + line if whole_comment else line)
        out.append((start, re.sub(r"(^|\s+)#.*", "", "".join(pending)).strip()))
        pending = []
    if pending:
        out.append((start, re.sub(r"(^|\s+)#.*", "", "".join(pending)).strip()))
    return [(n, line) for n, line in out if line]


def _options(line: str) -> list[tuple[str, str]]:
    """(`include`/`constraint`/`editable`, value) for each option of an option line."""
    try:
        tokens = shlex.split(line)
    except ValueError as exc:
        raise OracleError(f"cannot split options {line!r}: {exc}") from exc
    found, i = [], 0
    while i < len(tokens):
        tok = tokens[i]
        flag, eq, value = tok.partition("=") if tok.startswith("--") else (tok[:2], "", tok[2:])
        i += 1
        if flag in _OWN or flag in _WITH_VALUE:
            if not eq and not value:
                value, i = (tokens[i], i + 1) if i < len(tokens) else ("", i)
            if flag in _OWN:
                found.append((_OWN[flag], value))
    return found


class RequirementFiles:
    """Names in one requirements file and the files it includes (each file read once)."""

    def __init__(self, repo_root: Path, env: dict[str, str] | None) -> None:
        self.root = repo_root.resolve()
        self.env = env
        self.read: set[Path] = set()

    def names(self, path: Path) -> set[str]:
        path = path.resolve()
        self.read.add(path)
        where = path.relative_to(self.root).as_posix()
        text = path.read_bytes().decode("utf-8", errors="replace").lstrip("\ufeff")
        out: set[str] = set()
        for number, line in _joined_lines(text):
            try:
                out |= self._line(path, line)
            except OracleError as exc:
                raise OracleError(f"{where} line {number}: {exc}") from None
        return out

    def _line(self, path: Path, line: str) -> set[str]:
        if not line.startswith("-"):
            words = line.split()
            first_option = next((i for i, w in enumerate(words) if w.startswith("-")), len(words))
            name = spec_name(" ".join(words[:first_option]), self.env)
            return {name} if name else set()
        out: set[str] = set()
        for kind, value in _options(line):
            if kind == "include":
                target = (path.parent / value).resolve()
                if not value or not target.is_relative_to(self.root) or not target.is_file():
                    raise OracleError(f"included requirements file {value!r} not found")
                if target not in self.read:
                    out |= self.names(target)
            elif kind == "editable":
                out.add(self._editable(value))
        return out

    def _editable(self, target: str) -> str:
        if _SCHEME.match(target) or "#egg=" in target:
            return url_name(target)
        project = (self.root / re.sub(r"\[[^\]]*\]$", "", target)).resolve()  # `-e .[dev]`: extras name nothing
        name = local_project_name(project) if project.is_relative_to(self.root) else None
        if name is None:
            raise OracleError(f"cannot name the editable project {target!r} without building it")
        return name


def local_project_name(project: Path) -> str | None:
    """The name a local project declares: pyproject's `[project] name`, else setup.cfg's `[metadata] name`."""
    try:
        name = tomlkit.parse((project / "pyproject.toml").read_text(encoding="utf-8")).get("project", {}).get("name")
        if isinstance(name, str):
            return canonicalize_name(name)
    except (OSError, ValueError, AttributeError):
        pass
    cfg = configparser.ConfigParser(interpolation=None)
    try:
        cfg.read_string((project / "setup.cfg").read_text(encoding="utf-8"))
        return canonicalize_name(cfg.get("metadata", "name"))
    except (OSError, configparser.Error, UnicodeDecodeError):
        return None
