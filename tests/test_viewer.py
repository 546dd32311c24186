"""The HTML viewer's file, without a browser: what a run writes, what the page embeds, how data
is kept inert, and the CLI's errors. tests/test_viewer_browser.py opens it in Chromium."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import zlib
from pathlib import Path
from typing import Any

import pytest

from conftest import only_run_dir, run_cli, sandbox_flag
from evaluator.reporting import report
from evaluator.results.rundir import RunDir

EVIL = '</script><script>window.__pwned=1</script><!--'


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One builtin/oracle demo run, as the README runs it."""
    tmp = tmp_path_factory.mktemp("demo")
    proc = run_cli("evaluator.run", "--repos", "demo", "--model", "builtin/oracle", "--cache-dir", str(tmp / "cache"),
                   "--sandbox", sandbox_flag(), "--quiet", cwd=tmp)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return only_run_dir(tmp / "runs")


def page_parts(html: str) -> tuple[dict[str, Any], dict[str, str], str]:
    """(embedded JSON, blobs by id, CSP) from a viewer page."""
    data = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    assert data
    blobs = dict(re.findall(r'<script type="application/x-agentgym-blob" id="(b\d+)">([A-Za-z0-9+/=]*)</script>', html))
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', html)
    assert csp
    return json.loads(data.group(1)), blobs, csp.group(1)


def unpack(b64: str) -> Any:
    return json.loads(zlib.decompress(base64.b64decode(b64)))


def copy_run(demo: Path, tmp_path: Path) -> Path:
    dest = tmp_path / demo.name
    shutil.copytree(demo, dest)
    return dest


def test_a_run_writes_a_self_contained_viewer_next_to_the_report(demo: Path) -> None:
    html = (demo / "results" / "index.html").read_text(encoding="utf-8")
    data, blobs, csp = page_parts(html)
    # no network: nothing loads from elsewhere, and the policy forbids it anyway
    assert "default-src 'none'" in csp and "img-src data:" in csp and "connect-src" not in csp
    assert not re.search(r"<(script|img|link|iframe)[^>]*\s(src|href)=", html)
    # the one executable script is exactly the one the policy's hash allows
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    run = data["runs"][0]
    assert len(run["rows"]) == 20 and all(r["success"] for r in run["rows"])
    assert run["stats"]["overall"]["success_rate"] == 1.0 and run["plots"][0]["src"].startswith("data:image/png;base64,")
    # per-trial details are packed, and unpack to the trial's checks and its whole transcript
    detail = unpack(blobs[f"b{run['rows'][0]['blob']}"])
    trial = json.loads((demo / "trials" / "demo" / run["rows"][0]["task"] / "epoch-0.json").read_text())
    assert detail["checks"] == trial["output_checks"]
    assert len(detail["transcript"]) == trial["transcript"]["messages"]
    assert all(isinstance(x["t"], float) for x in detail["transcript"])  # per-turn timing is recorded
    assert detail["answers"] and detail["answers"][0]["name"].startswith("answer.")


def test_data_that_looks_like_html_stays_inert_and_intact(demo: Path, tmp_path: Path) -> None:
    run = copy_run(demo, tmp_path)
    trial_path = next((run / "trials" / "demo").glob("*/epoch-0.json"))
    trial = json.loads(trial_path.read_text())
    trial["output_checks"][0]["actual"] = EVIL
    trial["safety_events"] = [{"type": "prohibited_command", "tool": "run_command", "call": EVIL, "detail": EVIL,
                               "refused": True}]
    trial_path.write_text(json.dumps(trial))
    meta = json.loads((run / "run.json").read_text())
    meta["model"] = EVIL  # rides in the page's JSON, not in a packed blob
    (run / "run.json").write_text(json.dumps(meta))
    out = tmp_path / "view.html"
    proc = run_cli("evaluator.view", str(run), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    assert html.count("</script>") == html.count("<script")  # every element ends where it should
    data, blobs, _ = page_parts(html)
    assert data["runs"][0]["meta"]["model"] == EVIL
    row = next(r for r in data["runs"][0]["rows"] if r["task"] == trial["task_id"])
    assert row["safety"] == 1
    detail = unpack(blobs[f"b{row['blob']}"])
    assert detail["checks"][0]["actual"] == EVIL and detail["safety_events"][0]["call"] == EVIL


def test_change_tasks_carry_their_patch_and_test_outcomes(demo: Path, tmp_path: Path) -> None:
    run = copy_run(demo, tmp_path)
    trial_path = next((run / "trials" / "demo").glob("*/epoch-0.json"))
    trial = json.loads(trial_path.read_text())
    # The shape the harness writes for a change task (results/change_records.py: change.tests).
    trial.update(kind="change", change={"workspace": "copy", "tests": [
        {"nodeid": "tests/test_x.py::test_a", "group": "fail_to_pass", "outcome": "passed"},
        {"nodeid": "tests/test_x.py::test_b", "group": "pass_to_pass", "outcome": "failed"}]})
    trial_path.write_text(json.dumps(trial))
    (run / "artifacts" / "demo" / trial["task_id"] / "patch.diff").write_text("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n")
    out = tmp_path / "view.html"
    assert run_cli("evaluator.view", str(run), "--out", str(out)).returncode == 0
    data, blobs, _ = page_parts(out.read_text(encoding="utf-8"))
    details = {r["task"]: unpack(blobs[f"b{r['blob']}"]) for r in data["runs"][0]["rows"]}
    change = details[trial["task_id"]]["change"]
    assert change["patch"].endswith("+b\n")
    assert change["tests"] == [{"name": "tests/test_x.py::test_a", "outcome": "passed", "detail": "fail to pass"},
                               {"name": "tests/test_x.py::test_b", "outcome": "failed", "detail": "pass to pass"}]
    assert sum(d["change"] is not None for d in details.values()) == 1  # question tasks have none


def test_answer_files_are_read_without_following_links(demo: Path, tmp_path: Path) -> None:
    run = copy_run(demo, tmp_path)
    secret = tmp_path / "host_secret.txt"
    secret.write_text("HOST-SECRET")
    task = next((run / "artifacts" / "demo").iterdir())
    (task / "leak.txt").symlink_to(secret)
    out = tmp_path / "view.html"
    assert run_cli("evaluator.view", str(run), "--out", str(out)).returncode == 0
    _, blobs, _ = page_parts(out.read_text(encoding="utf-8"))
    assert not any("HOST-SECRET" in json.dumps(unpack(b)) for b in blobs.values())


def test_comparing_runs_embeds_each_run(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp.html"
    proc = run_cli("evaluator.view", str(demo), str(demo), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    data, blobs, _ = page_parts(out.read_text(encoding="utf-8"))
    assert len(data["runs"]) == 2 and len(blobs) == 40


def test_bad_input_is_one_sentence_and_exit_2(demo: Path, tmp_path: Path) -> None:
    for args in ([str(tmp_path / "missing")], [str(tmp_path)], [str(demo), "--out", str(tmp_path)]):
        proc = run_cli("evaluator.view", *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "Traceback" not in proc.stderr


def test_a_viewer_that_cannot_be_written_does_not_fail_the_run(demo: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    run = copy_run(demo, tmp_path)
    (run / "results" / "index.html").unlink()
    (run / "results" / "index.html").mkdir()  # something in the way
    report.write_viewer(RunDir(run))
    err = capsys.readouterr().err
    assert err.startswith("warning: could not write results/index.html") and len(err.strip().splitlines()) == 1


def test_a_partial_run_says_so_and_a_complete_one_does_not(demo: Path, tmp_path: Path) -> None:
    data, _, _ = page_parts((demo / "results" / "index.html").read_text(encoding="utf-8"))
    assert data["runs"][0]["partial"] is None and data["runs"][0]["total"] == 20
    run = copy_run(demo, tmp_path)
    next((run / "trials" / "demo").glob("*/epoch-0.json")).unlink()
    out = tmp_path / "view.html"
    assert run_cli("evaluator.view", str(run), "--out", str(out)).returncode == 0
    data, _, _ = page_parts(out.read_text(encoding="utf-8"))
    assert data["runs"][0]["partial"] and len(data["runs"][0]["rows"]) == 19


def test_odd_transcript_lines_neither_break_the_page_nor_go_missing(demo: Path, tmp_path: Path) -> None:
    """A line cut by a crash is left out; a NaN (which JSON.parse rejects) becomes null."""
    run = copy_run(demo, tmp_path)
    path = run / "transcripts" / "demo.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[0])
    rec["message"]["odd"] = float("nan")
    lines[0] = json.dumps(rec)
    lines.append(lines[1][: len(lines[1]) // 2])  # cut mid-line
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "view.html"
    assert run_cli("evaluator.view", str(run), "--out", str(out)).returncode == 0
    data, blobs, _ = page_parts(out.read_text(encoding="utf-8"))

    def strict(c: str) -> None:
        raise ValueError(c)

    details = [json.loads(zlib.decompress(base64.b64decode(b)), parse_constant=strict) for b in blobs.values()]
    mine = next(d for d in details if d["transcript_ref"]["attempt"] == rec["attempt"])
    assert mine["transcript"][0]["message"]["odd"] is None
    assert len(mine["transcript"]) == mine["transcript_ref"]["messages"]


def test_a_lone_surrogate_from_a_model_does_not_stop_the_page(demo: Path, tmp_path: Path) -> None:
    run = copy_run(demo, tmp_path)
    trial_path = next((run / "trials" / "demo").glob("*/epoch-0.json"))
    trial = json.loads(trial_path.read_text())
    trial["output_checks"][0]["actual"] = "a\ud800b"
    trial_path.write_text(json.dumps(trial))  # ASCII: the surrogate is a \ud800 escape on disk
    meta = json.loads((run / "run.json").read_text())
    meta["model"] = "m\udfffx"
    (run / "run.json").write_text(json.dumps(meta))
    out = tmp_path / "view.html"
    proc = run_cli("evaluator.view", str(run), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    data, blobs, _ = page_parts(out.read_text(encoding="utf-8"))
    assert data["runs"][0]["meta"]["model"] == "m\udfffx"
    row = next(r for r in data["runs"][0]["rows"] if r["task"] == trial["task_id"])
    assert unpack(blobs[f"b{row['blob']}"])["checks"][0]["actual"] == "a\ud800b"
