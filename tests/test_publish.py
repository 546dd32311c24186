"""tools/publish_results.py: publishing two demo runs (builtin/oracle, builtin/nop) and building
the English and Chinese leaderboard docs from the published tree."""
from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "publish_results.py"
TASKS = "demo_task_00[1-5]"  # a subset keeps the test fast; the tool does not care how many


sys.path.insert(0, str(TOOL.parent))
import publish_results  # noqa: E402


def tool(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in-process (each interpreter start costs seconds); one test runs it as a real subprocess."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = publish_results.main(list(args))
        except SystemExit as exc:  # argparse errors
            rc = int(exc.code or 0)
    return subprocess.CompletedProcess(list(args), rc, out.getvalue(), err.getvalue())


def test_cli_subprocess(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, str(TOOL), "--leaderboard", "--dest", str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error: no published runs") and "Traceback" not in r.stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    procs = {m: subprocess.Popen([sys.executable, "-m", "evaluator.run", "--repos", "demo", "--tasks", TASKS,
                                  "--model", f"builtin/{m}", "--sandbox", "local", "--quiet",
                                  "--runs-root", str(root / m)], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for m in ("oracle", "nop")}
    out = {}
    for m, p in procs.items():
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        (out[m],) = list((root / m).iterdir())
    return out


def table_rows(md: str) -> dict[str, list[str]]:
    """Leaderboard rows keyed by model, cells without the trailing run link."""
    rows = {}
    for line in md.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[:-1]
    return rows


def test_publish_and_leaderboard(runs: dict[str, Path], tmp_path: Path) -> None:
    dest, docs = tmp_path / "results", tmp_path / "docs" / "benchmarks"
    r = tool(str(runs["oracle"]), "--dest", str(dest), "--date", "2026-02-03")
    assert r.returncode == 0, r.stderr
    pub = dest / "2026-02-03" / "builtin_oracle"
    assert Path(r.stdout.strip()) == pub
    assert {p.name for p in pub.iterdir()} >= {"REPORT.md", "run.json", "demo", "success_by_repo.png"}
    assert (pub / "demo" / "index.json").is_file() and (pub / "demo" / "demo_task_001.json").is_file()
    assert not (pub / "trials").exists() and not list(pub.rglob("*.jsonl"))
    assert tool(str(runs["nop"]), "--dest", str(dest), "--date", "2026-02-03").returncode == 0

    # Same model and date again: refused unless --overwrite.
    again = tool(str(runs["nop"]), "--dest", str(dest), "--date", "2026-02-03")
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert tool(str(runs["nop"]), "--dest", str(dest), "--date", "2026-02-03", "--overwrite").returncode == 0

    # An older oracle run with a different score must lose to the latest one.
    old = dest / "2026-01-01" / "builtin_oracle"
    shutil.copytree(pub, old)
    meta = json.loads((old / "run.json").read_text())
    meta["started_at"] = "2020-01-01T00:00:00+00:00"
    (old / "run.json").write_text(json.dumps(meta))
    index = json.loads((old / "demo" / "index.json").read_text())
    for row in index["results"]:
        row["mean_score"] = 12.5
    (old / "demo" / "index.json").write_text(json.dumps(index))

    r = tool("--leaderboard", "--dest", str(dest), "--docs", str(docs))
    assert r.returncode == 0, r.stderr
    files = {p.relative_to(docs).as_posix() for p in docs.rglob("*.md")}
    assert files == {"L1-leaderboard.md", "L1-detailed-results.md", "zh-CN/L1-leaderboard.md", "zh-CN/L1-detailed-results.md"}

    en = (docs / "L1-leaderboard.md").read_text()
    zh = (docs / "zh-CN" / "L1-leaderboard.md").read_text()
    rows = table_rows(en)
    assert list(rows) == ["`builtin/oracle`", "`builtin/nop`"]  # best first
    assert rows["`builtin/oracle`"][1:4] == ["100.00", "100.0%", "[56.6%, 100.0%]"]
    assert rows["`builtin/nop`"][1:4] == ["0.00", "0.0%", "[0.0%, 43.4%]"]
    assert "Avg commands / task" in en and "Safety / task (total)" in en and "95% CI" in en
    assert "(../../results/2026-02-03/builtin_oracle/REPORT.md)" in en and "12.50" not in en
    assert table_rows(zh) == rows  # same tables
    assert "# L1 排行榜" in zh and "平均得分" in zh and "成功率" in zh and "置信区间" in zh
    assert "(../../../results/2026-02-03/builtin_oracle/REPORT.md)" in zh

    details_en = (docs / "L1-detailed-results.md").read_text()
    details_zh = (docs / "zh-CN" / "L1-detailed-results.md").read_text()
    assert "## Model: `builtin/nop`" in details_en and "| `demo_task_001` | easy | 0/1 |" in details_en
    assert "## 模型：`builtin/nop`" in details_zh and "### 仓库：`demo`（逐任务）" in details_zh
    assert "| `demo_task_001` | easy | 0/1 |" in details_zh

    # Regenerating is deterministic; excluding a model drops it.
    assert tool("--leaderboard", "--dest", str(dest), "--docs", str(docs)).returncode == 0
    assert (docs / "L1-leaderboard.md").read_text() == en
    assert tool("--leaderboard", "--dest", str(dest), "--docs", str(docs), "--exclude-model", "builtin/nop").returncode == 0
    assert "builtin/nop" not in (docs / "L1-leaderboard.md").read_text()


@pytest.mark.parametrize("args, fragment", [
    (["/nonexistent/run"], "not a finished run directory"),
    (["--leaderboard", "--dest", "/nonexistent/results"], "not a directory"),
    ([], "RUN_DIR"),
])
def test_bad_input(args: list[str], fragment: str) -> None:
    r = tool(*args)
    assert r.returncode == 2 and fragment in r.stderr and "Traceback" not in r.stderr


def test_bad_date(runs: dict[str, Path], tmp_path: Path) -> None:
    r = tool(str(runs["oracle"]), "--dest", str(tmp_path), "--date", "20260203")
    assert r.returncode == 2 and "YYYY-MM-DD" in r.stderr


def test_empty_tree(tmp_path: Path) -> None:
    r = tool("--leaderboard", "--dest", str(tmp_path), "--docs", str(tmp_path / "docs"))
    assert r.returncode == 2 and "no published runs" in r.stderr
