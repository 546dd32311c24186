"""Oracles over Markdown pipe tables (model cards, benchmark tables in READMEs): a line-based reader
of GitHub-style tables, fenced code blocks ignored."""
from __future__ import annotations

from pathlib import Path

from evaluator.scoring.oracle_api import OracleError, fact_oracle
from oracles._common import resolve_path

__all__ = ["markdown_table_column", "markdown_table_row_count", "markdown_tables"]


def _split_row(line: str) -> list[str]:
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    cells, cur, i = [], "", 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] == "|":
            cur, i = cur + "|", i + 2
            continue
        if text[i] == "|":
            cells.append(cur.strip())
            cur = ""
        else:
            cur += text[i]
        i += 1
    cells.append(cur.strip())
    return cells


def _is_delimiter(cells: list[str]) -> bool:
    return bool(cells) and all(c and set(c) <= set(":-") and "-" in c for c in cells)


def markdown_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """(header cells, body rows) of every pipe table: a line starting with `|` followed by a
    delimiter line (`| --- | :-: |`), then the following lines starting with `|`. Lines
    inside ``` fences are ignored."""
    lines = text.splitlines()
    tables: list[tuple[list[str], list[list[str]]]] = []
    in_fence, i = False, 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith("```"):
            in_fence = not in_fence
            i += 1
            continue
        if not in_fence and stripped.startswith("|") and i + 1 < len(lines):
            nxt = lines[i + 1].strip()
            if nxt.startswith("|") and _is_delimiter(_split_row(nxt)):
                header, rows, j = _split_row(stripped), [], i + 2
                while j < len(lines) and lines[j].strip().startswith("|"):
                    rows.append(_split_row(lines[j]))
                    j += 1
                tables.append((header, rows))
                i = j
                continue
        i += 1
    return tables


def _table(repo_root: Path, path: str, table: int) -> tuple[list[str], list[list[str]]]:
    text = resolve_path(repo_root, path).read_text(encoding="utf-8", errors="replace")
    tables = markdown_tables(text)
    try:
        return tables[table]
    except IndexError:
        raise OracleError(f"{path}: has {len(tables)} pipe tables, no table {table}") from None


def _strip_emphasis(cell: str) -> str:
    for mark in ("**", "__", "*", "_", "`"):
        if len(cell) > 2 * len(mark) and cell.startswith(mark) and cell.endswith(mark):
            return cell[len(mark) : -len(mark)].strip()
    return cell


@fact_oracle()
def markdown_table_row_count(*, repo_root: Path, path: str, table: int = 0) -> int:
    """Body rows (not the header, not the `---` delimiter line) of the `table`-th (0-based;
    negative counts from the end) pipe table in the Markdown file `path`; see `markdown_tables`."""
    return len(_table(repo_root, path, table)[1])


@fact_oracle()
def markdown_table_column(
    *, repo_root: Path, path: str, column: str, table: int = 0, strip_emphasis: bool = True
) -> list[str]:
    """The cells, top to bottom, of the column whose header cell is `column` (compared after
    stripping whitespace and emphasis) in the `table`-th pipe table of `path`. With
    `strip_emphasis`, a cell wholly wrapped in `**`, `__`, `*`, `_` or backticks loses one
    such wrapping (`**71.6**` -> `71.6`). A row too short for the column gives "".
    OracleError when there is no such table or column."""
    header, rows = _table(repo_root, path, table)
    names = [_strip_emphasis(h) for h in header]
    if column not in names:
        raise OracleError(f"{path}: table {table} has no column {column!r} (columns: {names})")
    idx = names.index(column)
    out = [row[idx] if idx < len(row) else "" for row in rows]
    return [_strip_emphasis(c) for c in out] if strip_emphasis else out
