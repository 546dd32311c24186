"""The viewer in a real browser: Debian's headless Chromium driven by Selenium (chromium-driver).

On the demo run and on a scripted run with a failing task, a refused command (safety event),
a long tool output and HTML in what the model wrote: filter, sort, open tasks, compare runs.
Needs chromium + chromium-driver + selenium (bash tools/install.sh --dev): fails, not skips,
under CI=true. Screenshots go to the test's tmp dir; with AGENTGYM_UPDATE_SCREENSHOTS=1 they
also replace the ones the docs show (docs/assets/viewer/).
"""
from __future__ import annotations

import json
import os
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import FACTS, ROOT, fixture_args, only_run_dir, run_cli, sandbox_flag, turn, user_task_id
from evaluator.testing.scripted_server import Reply, ScriptedServer, completion, tool_call
from evaluator.view.browser import Browser, BrowserUnavailable

SHOTS = ROOT / "docs" / "assets" / "viewer"
XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    try:
        b = Browser()
    except BrowserUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser is required under CI=true: {exc}")
        pytest.skip(str(exc))
    with b:
        yield b


def shot(b: Browser, tmp_path: Path, name: str) -> Path:
    out = tmp_path / name
    b.driver.set_window_size(1360, 1500)  # tall enough for the summary and the start of the table
    b.js("window.scrollTo(0, 0)")
    b.driver.save_screenshot(str(out))
    b.driver.set_window_size(1360, 900)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24])[0] >= 800  # a real, full-width image
    if os.environ.get("AGENTGYM_UPDATE_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(out, SHOTS / name)
    return out


def demo_run(tmp: Path, model: str) -> Path:
    proc = run_cli("evaluator.run", "--repos", "demo", "--model", model, "--cache-dir", str(tmp / "cache"),
                   "--sandbox", sandbox_flag(), "--quiet", cwd=tmp)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return only_run_dir(tmp / "runs")


def mixed_script(body: dict[str, Any], _: int) -> Reply:
    """fx_001 right; fx_002 tries curl (refused), then answers wrong and ends with HTML in its
    reply; fx_003 prints 10 KB before answering right."""
    messages = body["messages"]
    task, t = user_task_id(messages), turn(messages)
    key = next(k for k in FACTS if f'"{k}"' in messages[1]["content"])
    first = {"fx_002": tool_call("run_command", {"command": "curl -s http://127.0.0.1:9/"}, "c0"),
             "fx_003": tool_call("run_command", {"command": "python3 -c \"print('x' * 10000)\""}, "c0")}
    if t == 0:
        return completion(tool_calls=[first.get(task) or tool_call("run_command", {"command": "ls"}, "c0")],
                          reasoning=f"thinking about </script> {XSS}")
    if t == 1:
        value = FACTS[key] + 1 if task == "fx_002" else FACTS[key]
        return completion(tool_calls=[tool_call("write_file", {"path": "eval_artifacts/answer.json",
                                                               "content": json.dumps({key: value})}, "c1")])
    return completion(f"done {XSS}")


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import make_repo, FIXTURE_FILES, FIXTURE_TASKS  # the workspace fixture, module-wide
    import yaml

    tmp = tmp_path_factory.mktemp("mixed")
    commit = make_repo(tmp / "src_repo", FIXTURE_FILES)
    (tmp / "repos").mkdir()
    (tmp / "repos" / "fixture.yaml").write_text(yaml.safe_dump({"id": "fixture", "url": str(tmp / "src_repo"), "ref": commit}))
    tasks = tmp / "tasks" / "l1" / "fixture"
    tasks.mkdir(parents=True)
    for task in FIXTURE_TASKS[:3]:
        (tasks / f"{task['id']}.yaml").write_text(yaml.safe_dump(task, sort_keys=False))
    ws = {"repos": tmp / "repos", "tasks": tmp / "tasks", "cache": tmp / "cache", "runs": tmp / "runs"}
    with ScriptedServer(mixed_script) as srv:
        proc = run_cli("evaluator.run", "--model", "scripted-1", "--base-url", srv.base_url, *fixture_args(ws))
    assert proc.returncode == 0, proc.stderr
    return only_run_dir(ws["runs"])


def rows(b: Browser) -> list[str]:
    return b.js("return [...document.querySelectorAll('#tasks tbody tr')].map(r => r.dataset.key)")


def test_failing_task_with_a_safety_event(browser: Browser, mixed_run: Path, tmp_path: Path) -> None:
    from selenium.webdriver.support.ui import Select

    b, page = browser, mixed_run / "results" / "index.html"
    b.open(page)
    b.wait_ready("run")
    assert len(rows(b)) == 3
    Select(b.driver.find_element("css selector", "select[data-filter=result]")).select_by_value("fail")
    assert rows(b) == ["fixture/fx_002#0"]
    fragment = b.js("return location.hash")
    assert "result=fail" in fragment
    b.driver.refresh()  # the fragment is the view: a reload (or a shared link) shows the same rows
    b.wait_ready("run")
    assert rows(b) == ["fixture/fx_002#0"]
    b.driver.find_element("link text", "fx_002").click()
    b.wait_ready("task")
    check = b.driver.find_element("css selector", "#checks tr[data-check=md_files]")
    cells = [c.text for c in check.find_elements("css selector", "td")]
    assert cells[:4] == ["md_files", str(FACTS["md_files"]), str(FACTS["md_files"] + 1), "equals"] and cells[6] == "fail"
    flagged = b.driver.find_element("css selector", ".call.flagged .event")
    assert flagged.is_displayed() and "prohibited_command" in flagged.text and "curl" in flagged.text
    assert "curl -s http://127.0.0.1:9/" in b.driver.find_element("css selector", ".call.flagged").text
    # what the model wrote is shown as text and ran nothing
    assert b.js("return window.__pwned") is None
    assert XSS in b.driver.find_element("id", "transcript").text
    assert b.driver.find_elements("css selector", "#transcript img, #transcript script") == []
    shot(b, tmp_path, "task.png")
    b.driver.find_element("link text", "← back to the run").click()
    b.wait_ready("run")
    assert rows(b) == ["fixture/fx_002#0"]  # back to the filtered view
    assert b.console_errors() == []  # no CSP violation, no script error


def test_long_tool_output_is_collapsed_with_its_size_and_hash(browser: Browser, mixed_run: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    b = browser
    b.open(mixed_run / "results" / "index.html", "/task/0/" + "fixture%2Ffx_003%230")
    b.wait_ready("task")
    summary = b.driver.find_element("css selector", "#transcript .collapsed summary")
    assert "10001 bytes" in summary.text and "sha256" in summary.text
    shown = b.driver.find_element("css selector", "#transcript .collapsed pre")
    assert len(shown.text) < 5000  # only the head is drawn until asked
    summary.click()
    WebDriverWait(b.driver, 10).until(lambda d: d.find_elements("css selector", "#transcript .collapsed details pre"))
    full = b.driver.find_element("css selector", "#transcript .collapsed details pre")
    assert len(full.text) == 10000 and not shown.is_displayed()


def test_demo_run_page_sort_plot_and_task(browser: Browser, tmp_path: Path) -> None:
    run = demo_run(tmp_path, "builtin/oracle")
    b = browser
    b.open(run / "results" / "index.html")
    b.wait_ready("run")
    assert len(rows(b)) == 20
    assert b.js("return document.querySelector('.plots img').naturalWidth") > 100  # the data: plot is allowed
    assert "100.0%" in b.driver.find_element("css selector", ".cards").text
    b.driver.find_element("css selector", "th[data-sort=difficulty]").click()
    order = b.js("return [...document.querySelectorAll('#tasks tbody tr td:nth-child(3)')].map(td => td.textContent)")
    assert order == sorted(order, key=["easy", "medium", "hard"].index) and "sort=difficulty" in b.js("return location.hash")
    shot(b, tmp_path, "run.png")
    b.driver.find_element("link text", "demo_task_001").click()
    b.wait_ready("task")
    assert "answer.json" in b.driver.find_element("id", "answers").text
    tx = b.driver.find_element("id", "transcript").text
    assert "run_command" in tx and "exit 0" in tx and "sha256" in tx and "turn 1" in tx
    assert b.console_errors() == []


def test_compare_puts_flipped_tasks_first_and_shows_one_task_side_by_side(browser: Browser, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    good, bad = demo_run(tmp_path / "a", "builtin/oracle"), demo_run(tmp_path / "b", "builtin/nop")
    out = tmp_path / "compare.html"
    assert run_cli("evaluator.view", str(good), str(bad), "--out", str(out)).returncode == 0
    b = browser
    b.open(out)
    b.wait_ready("compare")
    grid = b.js("return [...document.querySelectorAll('#grid tbody tr')].map(r => [r.dataset.task, r.className, "
                "[...r.querySelectorAll('td[data-outcome]')].map(td => td.dataset.outcome).join(',')])")
    assert len(grid) == 20 and all(cls == "flip" and outcome == "pass,fail" for _, cls, outcome in grid)
    b.driver.find_element("link text", grid[0][0]).click()
    b.wait_ready("compare-task")
    cols = b.driver.find_elements("css selector", "#side-by-side > div")
    assert len(cols) == 2 and "pass" in cols[0].text and "fail" in cols[1].text
    assert "write_file" in cols[0].text and "missing_answer" in cols[1].text
    assert b.console_errors() == []


def test_the_open_time_benchmark_runs(browser: Browser, tmp_path: Path) -> None:
    """Its small mode, to keep it working (no time is asserted)."""
    out = tmp_path / "bench.json"
    proc = run_cli("evaluator.view.open_time", "--tasks", "20", "--repeat", "2", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    res = json.loads(out.read_text())
    assert res["tasks"] == 20 and res["open_ms_median"] > 0 and res["task_ms_median"] > 0 and res["html_mb"] > 0


def test_a_trial_without_transcript_lines_still_shows_its_events(browser: Browser, mixed_run: Path, tmp_path: Path) -> None:
    run = tmp_path / mixed_run.name
    shutil.copytree(mixed_run, run)
    (run / "transcripts" / "fixture.jsonl").unlink()  # e.g. lost with a crashed disk
    out = tmp_path / "view.html"
    assert run_cli("evaluator.view", str(run), "--out", str(out)).returncode == 0
    b = browser
    b.open(out, "/task/0/fixture%2Ffx_002%230")
    b.wait_ready("task", timeout=10)
    assert "No transcript lines" in b.driver.find_element("id", "transcript").text
    events = b.driver.find_elements("css selector", "#safety .event")
    assert len(events) == 2 and "prohibited_command" in events[0].text
    assert b.console_errors() == []
