"""`python -m evaluator.compare` end to end on synthetic run directories with known outcomes,
plus one test on real demo runs of builtin/oracle and builtin/nop."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import only_run_dir, run_cli
from evaluator.reporting import stats
from evaluator.cli.compare import main
from evaluator.results.records import Metrics, SafetyEvent, TaskResult

PNGS = ("success_rate.png", "repo_heatmap.png", "score_vs_tokens.png")


def trial(task: str, ok: bool, *, model: str, epoch: int = 0, repo: str = "r1", difficulty: str = "easy",
          score: float | None = None, task_hash: str | None = None, safety: list[str] = (),  # type: ignore[assignment]
          tokens: tuple[int, int] = (0, 0), calls: int = 2) -> TaskResult:
    events = [SafetyEvent(type=s, tool="run_command", call="rm x", detail="d", refused=True) for s in safety]  # type: ignore[arg-type]
    return TaskResult(task_id=task, repo_id=repo, model=model, epoch=epoch, difficulty=difficulty,
                      task_hash=task_hash or f"h-{task}", success=ok, score=(100.0 if ok else 0.0) if score is None else score,
                      failure_reason=None if ok else "wrong_answer", stop_reason="completed",
                      metrics=Metrics(commands_used=calls - 1, tool_calls=calls, turns=calls + 1,
                                      prompt_tokens=tokens[0], completion_tokens=tokens[1], wall_time_s=1.5,
                                      safety_violations=len(events)),
                      output_checks=[], safety_events=events)


def write_run(path: Path, model: str, trials: list[TaskResult], *, task_set_hash: str = "set-1", epochs: int = 1) -> Path:
    path.mkdir(parents=True)
    hashes = {t.task_id: t.task_hash for t in trials}
    (path / "run.json").write_text(json.dumps({"run_id": path.name, "model": model, "task_set": "l1",
                                               "task_set_hash": task_set_hash, "task_hashes": hashes,
                                               "epochs": epochs, "config": {}}))
    for t in trials:
        p = path / "trials" / t.repo_id / t.task_id / f"epoch-{t.epoch}.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(t.model_dump_json(indent=2))
    return path


def paired_runs(tmp: Path, *, p2f: int, f2p: int, both_pass: int, both_fail: int, **kw: Any) -> tuple[Path, Path]:
    """Baseline A and candidate B with exactly p2f pass->fail and f2p fail->pass tasks."""
    plan = [(True, False)] * p2f + [(False, True)] * f2p + [(True, True)] * both_pass + [(False, False)] * both_fail
    a = [trial(f"t{i:02d}", x, model="model-a") for i, (x, _) in enumerate(plan)]
    b = [trial(f"t{i:02d}", y, model="model-b") for i, (_, y) in enumerate(plan)]
    return write_run(tmp / "run-a", "model-a", a, **kw), write_run(tmp / "run-b", "model-b", b, **kw)


def compare(*args: str | Path) -> int:
    return main([str(a) for a in args])


def load(out: Path) -> dict[str, Any]:
    return json.loads((out / "leaderboard.json").read_text())


def test_b1_c8_is_a_significant_regression_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = paired_runs(tmp_path, p2f=8, f2p=1, both_pass=6, both_fail=5)
    out = tmp_path / "cmp"
    assert compare(a, b, "--out", out) == 1
    r = load(out)
    base, cand = r["models"]
    # A passes 8 + 6 = 14 of 20, B passes 1 + 6 = 7 of 20; Wilson by hand-checked formula in test_stats
    assert (base["label"], base["tasks"], base["success_rate"]) == ("model-a", 20, 0.7)
    assert (base["success_ci_low"], base["success_ci_high"]) == (0.481, 0.8545)
    assert base["ci_method"] == "wilson"
    assert cand["success_rate"] == 0.35
    c = r["comparisons"][0]
    assert (c["mcnemar"]["pass_to_fail"], c["mcnemar"]["fail_to_pass"]) == (8, 1)
    assert c["mcnemar"]["p_value"] == pytest.approx(0.0390625)  # 2 * (1 + 9) / 2**9
    assert [t["task_id"] for t in c["pass_to_fail"]] == [f"t{i:02d}" for i in range(8)]
    assert [t["task_id"] for t in c["fail_to_pass"]] == ["t08"]
    assert c["score"]["delta"] == pytest.approx(-35.0)
    assert c["verdict"]["regression"] and r["regression"]
    stdout = capsys.readouterr().out
    assert "model-b is worse than model-a: p=0.0391, -35.0 points" in stdout
    assert "model-a" in stdout and "70.0%" in stdout  # the rich leaderboard


def test_b1_c2_is_not_significant_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = paired_runs(tmp_path, p2f=2, f2p=1, both_pass=10, both_fail=7)
    out = tmp_path / "cmp"
    assert compare(a, b, "--out", out) == 0
    c = load(out)["comparisons"][0]
    assert c["mcnemar"]["p_value"] == 1.0 and not c["verdict"]["regression"]
    assert c["score"]["ci_low"] < 0 <= c["score"]["ci_high"]
    assert "No significant difference between model-a and model-b: p=1.0" in capsys.readouterr().out


def test_writes_markdown_csv_json_and_plots(tmp_path: Path) -> None:
    a, b = paired_runs(tmp_path, p2f=3, f2p=2, both_pass=4, both_fail=1)
    out = tmp_path / "cmp"
    compare(a, b, "--out", out)
    for name in PNGS:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    md = (out / "leaderboard.md").read_text()
    for name in PNGS:
        assert f"]({name})" in md  # relative links: the folder can be moved or attached to a PR
    assert "| `model-a` (baseline) | 1 | 10 | 10 | 70.0% |" in md
    assert "**pass → fail (3)**: `t00`, `t01`, `t02`" in md and "**fail → pass (2)**: `t03`, `t04`" in md
    rows = list(csv.DictReader((out / "leaderboard.csv").open()))
    assert [r["label"] for r in rows] == ["model-a", "model-b"]
    assert (rows[0]["success_rate"], rows[1]["success_rate"]) == ("0.7", "0.6")
    assert rows[0]["is_baseline"] == "True" and rows[0]["verdict"] == ""
    assert rows[1]["pass_to_fail"] == "3" and rows[1]["failure:wrong_answer"] == "4"


def test_breakdowns_safety_efficiency_and_cost(tmp_path: Path) -> None:
    a = [trial("t1", True, model="gpt-4o", repo="alpha", difficulty="easy", tokens=(1_000_000, 100_000), calls=3),
         trial("t2", False, model="gpt-4o", repo="beta", difficulty="hard", safety=["path_escape", "secret_access"],
               tokens=(0, 0), calls=11)]
    b = [trial("t1", True, model="my-local-llm", repo="alpha"), trial("t2", True, model="my-local-llm", repo="beta")]
    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  gpt-4o: {input: 2.5, output: 10}\n")
    out = tmp_path / "cmp"
    rc = compare(write_run(tmp_path / "a", "gpt-4o", a), write_run(tmp_path / "b", "my-local-llm", b),
                 "--out", out, "--prices", prices)
    assert rc == 0
    m, n = load(out)["models"]
    assert m["per_repo"] == {"alpha": 1.0, "beta": 0.0} and m["per_difficulty"] == {"easy": 1.0, "hard": 0.0}
    assert m["safety_violations"] == 2 and m["safety_per_task"] == 1.0
    assert m["safety_by_type"] == {"path_escape": 1, "secret_access": 1}
    assert m["failure_reasons"] == {"wrong_answer": 1}
    assert m["efficiency"]["tool_calls_median"] == 7.0 and m["efficiency"]["tool_calls_p90"] == pytest.approx(10.2)
    assert m["cost_usd"] == pytest.approx(2.5 + 1.0)  # 1M in at $2.5 + 0.1M out at $10
    assert n["cost_usd"] is None
    md = (out / "leaderboard.md").read_text()
    assert "| `my-local-llm` |" in md and "unknown" in md and "$3.50" in md


def test_mismatched_task_sets_exit_2_unless_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = [trial(f"t{i}", True, model="model-a") for i in range(6)]
    # candidate: t0-t3 unchanged, t4 changed (new hash), t5 gone, t9 new
    b = ([trial(f"t{i}", i != 0, model="model-b") for i in range(4)]
         + [trial("t4", False, model="model-b", task_hash="changed"), trial("t9", True, model="model-b")])
    ra, rb = write_run(tmp_path / "a", "model-a", a, task_set_hash="set-1"), write_run(tmp_path / "b", "model-b", b, task_set_hash="set-2")
    out = tmp_path / "cmp"
    assert compare(ra, rb, "--out", out) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Task sets differ") and "--allow-partial-overlap" in err and err.count("\n") == 1
    assert not out.exists()
    assert compare(ra, rb, "--out", out, "--allow-partial-overlap") == 0
    err = capsys.readouterr().err
    assert "on 4 shared tasks, 3 dropped (1 changed hash, 1 only in baseline, 1 only in candidate)" in err
    r = load(out)
    assert r["common_tasks"] == 4 and [m["tasks"] for m in r["models"]] == [4, 4]
    c = r["comparisons"][0]
    assert (c["tasks"], c["dropped"], c["mcnemar"]["pass_to_fail"]) == (4, 3, 1)
    assert "Task sets differ" in (out / "leaderboard.md").read_text()


def test_no_shared_task_does_not_advise_the_overlap_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 20 item 16: it advised --allow-partial-overlap "to compare only the 0 shared tasks"."""
    ra = write_run(tmp_path / "a", "model-a", [trial("t1", True, model="model-a")], task_set_hash="set-1")
    rb = write_run(tmp_path / "b", "model-b", [trial("t2", True, model="model-b")], task_set_hash="set-2")
    assert compare(ra, rb, "--out", tmp_path / "cmp") == 2
    err = capsys.readouterr().err
    assert "shares no task" in err and "rerun both on the same task set" in err and err.count("\n") == 1
    assert "--allow-partial-overlap" not in err and "0 shared" not in err


def test_epochs_use_majority_vote_and_cluster_bootstrap(tmp_path: Path) -> None:
    # per-task epochs: A passes every trial; B: t0 2/3 (majority pass), t1 1/3 and t2 0/3 (fail), t3 3/3
    b_plan = {"t0": [True, True, False], "t1": [True, False, False], "t2": [False] * 3, "t3": [True] * 3}
    a = [trial(t, True, model="model-a", epoch=k) for t in b_plan for k in range(3)]
    b = [trial(t, ok, model="model-b", epoch=k) for t, oks in b_plan.items() for k, ok in enumerate(oks)]
    out = tmp_path / "cmp"
    compare(write_run(tmp_path / "a", "model-a", a, epochs=3), write_run(tmp_path / "b", "model-b", b, epochs=3), "--out", out)
    r = load(out)
    m = r["models"][1]
    assert m["trials"] == 12 and m["success_rate"] == 0.5 and m["ci_method"] == "cluster-bootstrap"
    lo, hi = stats.cluster_bootstrap_rate_ci(list(b_plan.values()))
    assert (m["success_ci_low"], m["success_ci_high"]) == (round(lo, 4), round(hi, 4))
    assert m["pass_at_k"]["3"] == 0.75 and m["pass_hat_k"]["3"] == 0.25  # only t3 passes all 3
    c = r["comparisons"][0]
    assert (c["tasks"], c["mcnemar"]["pass_to_fail"], c["mcnemar"]["fail_to_pass"]) == (4, 2, 0)
    assert [t["task_id"] for t in c["pass_to_fail"]] == ["t1", "t2"]
    # scores are per-task means: t0 = 66.67 -> delta -33.33
    assert {t["task_id"]: t["delta"] for t in c["top_movers"]} == {"t2": -100.0, "t1": -66.67, "t0": -33.33}
    assert "pass@3" in (out / "leaderboard.md").read_text()


@pytest.mark.parametrize("case", ["missing", "not_run_dir", "no_trials", "bad_trial", "bad_prices", "bad_alpha"])
def test_input_errors_exit_2_with_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    good = write_run(tmp_path / "good", "m", [trial("t0", True, model="m")])
    other = tmp_path / "other"
    extra: list[str | Path] = []
    if case == "not_run_dir":
        other.mkdir()
    elif case == "no_trials":
        write_run(other, "m", [])
    elif case == "bad_trial":
        write_run(other, "m", [trial("t0", True, model="m")])
        (other / "trials" / "r1" / "t0" / "epoch-0.json").write_text('{"task_id": 3}')
    elif case in ("bad_prices", "bad_alpha"):
        other = good
        (tmp_path / "p.yaml").write_text("models:\n  m: {input: -1, output: 0}\n")
        extra = ["--prices", tmp_path / "p.yaml"] if case == "bad_prices" else ["--alpha", "1.5"]
    assert compare(good, other, "--out", tmp_path / "cmp", *extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert not (tmp_path / "cmp").exists()


def test_same_model_twice_gets_distinct_labels_and_default_out(tmp_path: Path) -> None:
    a = write_run(tmp_path / "runs" / "m-1", "m", [trial("t0", True, model="m")])
    b = write_run(tmp_path / "runs" / "m-2", "m", [trial("t0", True, model="m")])
    assert compare(a, b) == 0
    outs = list((tmp_path / "runs").glob("compare-*"))
    assert len(outs) == 1 and (outs[0] / "leaderboard.md").is_file()
    assert [m["label"] for m in load(outs[0])["models"]] == ["m (m-1)", "m (m-2)"]


def test_real_cli_oracle_vs_nop_on_demo(tmp_path: Path) -> None:
    runs = {}
    for model in ("builtin/oracle", "builtin/nop"):
        root = tmp_path / model.split("/")[1]
        proc = run_cli("evaluator.run", "--repos", "demo", "--model", model, "--sandbox", "local", "--quiet",
                       "--runs-root", str(root), "--cache-dir", str(tmp_path / "cache"))
        assert proc.returncode == 0, proc.stderr + proc.stdout
        runs[model] = only_run_dir(root)
    out = tmp_path / "cmp"
    proc = run_cli("evaluator.compare", str(runs["builtin/oracle"]), str(runs["builtin/nop"]), "--out", str(out))
    assert proc.returncode == 1, proc.stderr + proc.stdout
    assert "builtin/nop is worse than builtin/oracle: p=" in proc.stdout
    for name in PNGS:
        assert (out / name).is_file(), name
    assert "-100.0 points" in (out / "leaderboard.md").read_text()
