"""Strings from endpoints and run folders are data in every Markdown file we write:
they cannot add a heading, a table row or a cell, or open a comment, tag or link."""
from __future__ import annotations

import re
from pathlib import Path

from evaluator.reporting.textsafe import md
from test_compare import compare, trial, write_run

HOSTILE = ["x\n\n## Summary\n\n| 100% |\n\n<!--", "a|b", "`code`", "<script>alert(1)</script>", "[click](http://x)",
           "line\r\nbreak\u2028sep\x85", "\\|", "&lt;!--", "half \ud800 surrogate", "# heading"]


def tables(markdown: str) -> list[list[int]]:
    """Cells per row, for each table (a run of lines starting with `|`)."""
    out: list[list[int]] = []
    prev = False
    for line in markdown.splitlines():
        row = line.startswith("|")
        if row:
            if not prev:
                out.append([])
            out[-1].append(len(re.findall(r"(?<!\\)\|", line)))
        prev = row
    return out


def test_md_keeps_any_value_inline_and_inert() -> None:
    for value in HOSTILE:
        for code in (False, True):
            out = md(value, code=code)
            assert "\n" not in out and "\r" not in out and "|" not in out and "<" not in out
            assert "`" not in out.strip("`") and "[" not in out
            assert len(out.splitlines()) == 1
    assert md("builtin/oracle", code=True) == "`builtin/oracle`"
    assert md("gpt-4o_mini") == "gpt-4o_mini"  # plain names read as they are


def test_leaderboard_with_hostile_model_names_and_ids_keeps_its_structure(tmp_path: Path) -> None:
    tasks = [f"t{i}" for i in range(4)]
    evil_task = "t9 | x <!-- ## y"
    a = write_run(tmp_path / "run-a", "model-a", [trial(t, True, model="model-a") for t in [*tasks, evil_task]])
    clean = write_run(tmp_path / "run-c", "model-c", [trial(t, t != "t0", model="model-c") for t in [*tasks, evil_task]])
    b = write_run(tmp_path / "run-b", HOSTILE[0], [trial(t, t != "t0", model=HOSTILE[0], repo="r|1\n# r",
                                                         difficulty="hard\n| x |") for t in [*tasks, evil_task]])
    out, ref = tmp_path / "cmp", tmp_path / "ref"
    assert compare(a, b, "--out", out, "--allow-partial-overlap") in (0, 1)
    assert compare(a, clean, "--out", ref, "--allow-partial-overlap") in (0, 1)
    text, reference = (out / "leaderboard.md").read_text(), (ref / "leaderboard.md").read_text()
    assert "<!--" not in text and "<script" not in text and "](http" not in text and "&lt;!--" in text
    heads = [x for x in text.splitlines() if x.startswith("#")]
    assert len(heads) == len([x for x in reference.splitlines() if x.startswith("#")]), heads
    assert not any(h.startswith(("## Summary", "# r", "## y")) for h in heads), heads
    found = tables(text)
    assert len(found) == len(tables(reference))
    for rows in found:  # no row has a cell more or less than its header
        assert len(set(rows)) == 1, rows


def test_published_leaderboards_keep_their_structure(tmp_path: Path) -> None:
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    import publish_results

    dest, docs = tmp_path / "results", tmp_path / "docs"
    for n, model in enumerate(["model-a", HOSTILE[0], "x | y `z` <b>"]):
        folder = dest / "2026-02-03" / f"m{n}"
        (folder / "r1").mkdir(parents=True)
        (folder / "run.json").write_text(json.dumps({"model": model, "started_at": "2026-02-03T00:00:00", "epochs": 1}))
        rows = [{"task_id": t, "repo_id": repo, "difficulty": "easy\n# d", "trials": 1, "successes": 1,
                 "mean_score": 100.0, "failure_reasons": {"x|<!--": 1}}
                for t, repo in (("t1", "r1"), ("t2 | <!--", "r1\n## r"))]
        (folder / "r1" / "index.json").write_text(json.dumps({"results": rows}))
    assert publish_results.main(["--leaderboard", "--dest", str(dest), "--docs", str(docs)]) == 0
    for page in docs.rglob("*.md"):
        text = page.read_text()
        assert "<!--" not in text and "<b>" not in text, page
        assert not any(x.startswith(("## Summary", "## r", "# d")) for x in text.splitlines()), page
        for rows in tables(text):
            assert len(set(rows)) == 1, (page, rows)
