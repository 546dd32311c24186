"""Second derivations (see derivations/__init__.py): file trees, text search and images.

The file trees come from GNU `find` (its own pruning, `-printf` for types and sizes) run in a
subprocess, patterns are matched per path segment with `fnmatch`, text is counted by ripgrep
`rg` on the files `find` listed, and README lines are cut by a regular expression. The image
derivations live in derivations/images.py (imported at the end so the registry sees them).
Every tool failure is raised; `oracle_registry.call` turns it into one sentence for `validate`.
"""
from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterable

from evaluator.scoring.oracle_api import second_derivation

TOOL_TIMEOUT = 900  # seconds; a whole-repo rg or find on a cold disk
CHUNK = 1500  # files per rg call, well under ARG_MAX for long paths


class ToolError(RuntimeError):
    """A tool a derivation relies on is missing or failed."""


def _tool(argv: list[str], *, cwd: Path, ok: tuple[int, ...] = (0,)) -> bytes:
    exe = shutil.which(argv[0])
    if exe is None:
        raise ToolError(f"`{argv[0]}` is not installed (tools/install.sh installs it)")
    try:
        proc = subprocess.run([exe, *argv[1:]], cwd=cwd, capture_output=True, timeout=TOOL_TIMEOUT, check=False,
                              env={**os.environ, "LC_ALL": "C.UTF-8"})
    except subprocess.TimeoutExpired:
        raise ToolError(f"`{argv[0]}` took more than {TOOL_TIMEOUT} s") from None
    if proc.returncode not in ok:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ToolError(f"`{argv[0]}` exited {proc.returncode}: {err[-1] if err else 'no message'}")
    return proc.stdout


def _escape(name: str) -> str:
    """`name` as a literal for find's -name/-path patterns."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", name)


def _find(root: Path, fmt: str, *, prune_names: Iterable[str] = (), prune_paths: Iterable[str] = (),
          maxdepth: int | None = None) -> list[list[str]]:
    """Records `fmt` (fields joined by tabs, the path last) for every entry below `root`, not
    following symbolic links, pruning directories by name or by repo-relative path."""
    prune = [t for n in sorted(set(prune_names)) for t in ("-o", "-name", _escape(n))]
    prune += [t for p in sorted(set(prune_paths)) for t in ("-o", "-path", "./" + _escape(p))]
    argv = ["find", "-P", ".", "-mindepth", "1"] + (["-maxdepth", str(maxdepth)] if maxdepth else [])
    if prune:
        argv += ["(", "-type", "d", "(", *prune[1:], ")", "-prune", ")", "-o"]
    argv += ["-printf", fmt + "\\0"]
    fields = fmt.count("\t") + 1
    out = _tool(argv, cwd=root)
    return [os.fsdecode(rec).split("\t", fields - 1) for rec in out.split(b"\0") if rec]


def _split_braces(pattern: str) -> list[str]:
    """Shell-style `{a,b}` alternatives, the outermost group first, splitting only top-level commas."""
    depth, start = 0, -1
    for i, ch in enumerate(pattern):
        if ch == "{":
            start = i if depth == 0 else start
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                body, options, level, cur = pattern[start + 1:i], [], 0, ""
                for c in body:
                    level += (c == "{") - (c == "}")
                    if c == "," and level == 0:
                        options.append(cur)
                        cur = ""
                    else:
                        cur += c
                options.append(cur)
                head, tail = pattern[:start], pattern[i + 1:]
                return [r for o in options for r in _split_braces(head + o + tail)]
    return [pattern]


def _segments_match(pat: list[str], path: list[str]) -> bool:
    """Segment by segment: `**` is any number of directories (at the end: anything below)."""
    if not pat:
        return not path
    if pat[0] == "**":
        if len(pat) == 1:
            return bool(path)
        return any(_segments_match(pat[1:], path[i:]) for i in range(len(path)))
    return bool(path) and fnmatch.fnmatchcase(path[0], pat[0].replace("**", "*")) and _segments_match(pat[1:], path[1:])


def _matcher(glob: str) -> Any:
    pats = [[s for s in p.split("/") if s not in ("", ".")] for p in _split_braces(glob)]
    return lambda rel: any(_segments_match(p, rel.split("/")) for p in pats)


def _regular_files(root: Path, exclude_dirs: list[str] | None, *, always_git: bool) -> list[str]:
    """Repo-relative paths of the regular files (no links), as `iter_files`-style oracles define them:
    `.git` pruned when `always_git`, an entry with a slash prunes that path, one without every such name."""
    entries = [d.strip("/") for d in exclude_dirs or []]
    names = {d for d in entries if "/" not in d} | ({".git"} if always_git else set())
    recs = _find(root, "%y\t%P", prune_names=names, prune_paths={d for d in entries if "/" in d})
    return [path for kind, path in recs if kind == "f"]


def _rg_per_file(root: Path, files: list[str], args: list[str]) -> dict[str, int]:
    """{path: count} from `rg -c`-style output over `files` (searched as text, links not followed)."""
    counts: dict[str, int] = {}
    for i in range(0, len(files), CHUNK):
        out = _tool(["rg", "--no-config", "-a", "-H", "--null", *args, "--", *files[i:i + CHUNK]], cwd=root, ok=(0, 1))
        for line in out.split(b"\n"):
            if line:
                path, _, n = line.rpartition(b"\0")
                counts[os.fsdecode(path)] = int(n)
    return counts


def _text_files(root: Path, files: list[str]) -> list[str]:
    """`files` minus those holding a NUL byte (binary, skipped by the oracles)."""
    binary = _rg_per_file(root, files, ["-c", "-e", r"\x00"])
    return [f for f in files if f not in binary]


@second_derivation("top_level_entry_count", method="`find -maxdepth 1` lists the root's entries, filtered by name")
def top_level_entry_count(*, repo_root: Path, exclude: list[str] | None = None, exclude_hidden: bool = True) -> int:
    names = [rec[0] for rec in _find(repo_root, "%f", maxdepth=1)]
    return sum(1 for n in names if n not in set(exclude or []) and not (exclude_hidden and n[:1] == "."))


@second_derivation("dir_top_entry_count", method="`test -d` then `find -maxdepth 1` in the directory")
def dir_top_entry_count(*, repo_root: Path, path: str, exclude_hidden: bool = True) -> int:
    target = repo_root / path
    if not _is(repo_root, "-d", str(target)):  # a link to a directory counts, as it does for the oracle
        return 0
    names = [rec[0] for rec in _find(target, "%f", maxdepth=1)]
    return sum(1 for n in names if not (exclude_hidden and n.startswith(".")))


def _is(cwd: Path, flag: str, target: str) -> bool:
    exe = shutil.which("test")
    if exe is None:
        raise ToolError("`test` (coreutils) is not installed")
    return subprocess.run([exe, flag, target], cwd=cwd, check=False, timeout=60).returncode == 0


@second_derivation("has_license_file", method="coreutils `test -f` on each path (a regular file, links followed)")
def has_license_file(*, repo_root: Path, paths: list[str]) -> bool:
    return any(_is(repo_root, "-f", p) for p in paths)


# Python's line boundaries (str.splitlines' documented set), written out as a pattern.
_LINE_BREAK = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


@second_derivation("readme_first_nonempty_line",
                   method="regular expressions: cut at every Unicode line break, first line with a non-space")
def readme_first_nonempty_line(*, repo_root: Path, path: str = "README.md") -> str:
    with open(repo_root / path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    return next((line for line in _LINE_BREAK.split(text) if re.search(r"\S", line)), "")


@second_derivation("glob_count", method="`find -P` lists files and links to files; fnmatch per path segment")
def glob_count(*, repo_root: Path, glob: str, exclude_dirs: list[str] | None = None) -> int:
    skip, matches = set(exclude_dirs or []), _matcher(glob)
    # %Y: the type after following a link ("f" for a link to a file). find -P never enters a linked
    # directory; pathlib's `**` does not either, though its literal segments would (no repo has one).
    recs = _find(repo_root, "%Y\t%P")
    return sum(1 for kind, rel in recs
               if kind == "f" and matches(rel) and not skip.intersection(rel.split("/")))


@second_derivation("glob_files", method="`find -P -type f` with its own pruning; fnmatch per path segment")
def glob_files(*, repo_root: Path, glob: str, exclude_dirs: list[str] | None = None) -> list[str]:
    matches = _matcher(glob)
    return sorted(rel for rel in _regular_files(repo_root, exclude_dirs, always_git=True) if matches(rel))


def _sizes(repo_root: Path, exclude_dirs: list[str] | None) -> list[tuple[int, str]]:
    recs = _find(repo_root, "%y\t%s\t%P", prune_names=exclude_dirs or [])
    return [(int(size), rel) for kind, size, rel in recs if kind == "f"]


@second_derivation("largest_file", method="`find -printf '%s %P'`, the top of a size-descending sort (sort -nr | head -1)")
def largest_file(*, repo_root: Path, exclude_dirs: list[str] | None = None) -> dict[str, Any]:
    sizes = _sizes(repo_root, exclude_dirs)
    if not sizes:
        return {"path": "", "size": 0}
    size, rel = max(sizes)  # like `sort -nr`, a tie goes to the path that sorts last
    return {"path": rel, "size": size}


@second_derivation("largest_files", method="`find -printf '%s %P'`, every file of the top size")
def largest_files(*, repo_root: Path, exclude_dirs: list[str] | None = None) -> dict[str, Any]:
    sizes = _sizes(repo_root, exclude_dirs)
    top = max((s for s, _ in sizes), default=0)
    return {"paths": sorted(rel for s, rel in sizes if s == top), "size": top}


@second_derivation("repo_token_count",
                   method="`find -printf %s` sizes pick the files, `rg -F --count-matches` counts, files with a NUL skipped")
def repo_token_count(*, repo_root: Path, token: str, case_insensitive: bool = False,
                     exclude_dirs: list[str] | None = None, max_bytes: int | None = 1_000_000) -> int:
    files = [rel for size, rel in _sizes(repo_root, exclude_dirs) if not max_bytes or size <= max_bytes]
    flags = ["--count-matches", "-F"] + (["-i"] if case_insensitive else []) + (["-U"] if "\n" in token else [])
    counts = _rg_per_file(repo_root, _text_files(repo_root, files), [*flags, "-e", token])
    return sum(counts.values())


def _grep(repo_root: Path, pattern: str, glob: str, regex: bool, exclude_dirs: list[str] | None) -> dict[str, int]:
    matches = _matcher(glob)
    files = [rel for rel in _regular_files(repo_root, exclude_dirs, always_git=True) if matches(rel)]
    # --crlf: a line's `\r\n` ends it, as the oracle strips `\r`; --engine auto: PCRE2 when the
    # Python pattern needs look-around or back-references.
    flags = ["-c", "--crlf", "--engine", "auto"] if regex else ["-c", "-F"]
    return _rg_per_file(repo_root, _text_files(repo_root, files), [*flags, "-e", pattern])


@second_derivation("grep_count", method="`find` lists the files, `rg -c` counts matching lines (-F, or its regex engine)")
def grep_count(*, repo_root: Path, pattern: str, glob: str = "**/*.py", regex: bool = False,
               exclude_dirs: list[str] | None = None) -> int:
    return sum(_grep(repo_root, pattern, glob, regex, exclude_dirs).values())


@second_derivation("grep_files", method="`find` lists the files, `rg -c` keeps those with a matching line")
def grep_files(*, repo_root: Path, pattern: str, glob: str = "**/*.py", regex: bool = False,
               exclude_dirs: list[str] | None = None) -> list[str]:
    return sorted(rel for rel, n in _grep(repo_root, pattern, glob, regex, exclude_dirs).items() if n)
