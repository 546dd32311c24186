"""`generate --kind change --hidden-tests DIR`: bug injection graded by test files of our own (for
repositories whose own tests cannot run in the sandbox, e.g. InternLM's scripts): the files take part
in every generator run, the tasks list them as hidden tests, and validation grades with them."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import run_cli, sandbox_flag

HIDDEN_TEST = '''from tinytrain.metrics.accuracy import TopKAccuracy


def test_topk_counts_a_hit_within_k(ranked):
    m = TopKAccuracy(k=2)
    m.process(ranked, ["b", "z"])
    assert m.compute() == {"top2": 0.5}


def test_topk_empty_is_zero():
    assert TopKAccuracy(k=3).compute() == {"top3": 0.0}


def test_topk_k_one_is_exact_match(ranked):
    m = TopKAccuracy(k=1)
    m.process(ranked, ["a", "q"])
    assert m.compute() == {"top1": 1.0}
'''
HIDDEN_CONFTEST = '''import pytest


@pytest.fixture
def ranked():
    return [["a", "b", "c"], ["q", "r", "z"]]
'''


def hidden_folder(out: Path) -> Path:
    folder = out / "_hidden"
    (folder / "tests" / "ours").mkdir(parents=True)
    (folder / "tests" / "ours" / "test_topk_ours.py").write_text(HIDDEN_TEST)
    (folder / "tests" / "ours" / "conftest.py").write_text(HIDDEN_CONFTEST)
    return folder


@pytest.mark.slow
def test_hidden_tests_drive_generation_and_grading(tmp_path: Path) -> None:
    out = tmp_path / "tasks" / "l2" / "demo"
    folder = hidden_folder(out)
    proc = run_cli("evaluator.generate", "--repo", "demo", "--kind", "change", "--tests", "tests/ours",
                   "--hidden-tests", str(folder), "--show-hidden", "tests/ours/conftest.py", "--max-tasks", "2", "--seed", "0", "--sandbox", sandbox_flag(),
                   "--cache-dir", str(tmp_path / "cache"), "--out", str(out), timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tasks = [yaml.safe_load(p.read_text()) for p in sorted(out.glob("demo_inj_*.yaml"))]
    assert tasks
    for t in tasks:
        change = t["change"]
        assert change["hidden_tests"] == [
            {"path": "tests/ours/conftest.py", "source": "_hidden/tests/ours/conftest.py", "visible": True},
            {"path": "tests/ours/test_topk_ours.py", "source": "_hidden/tests/ours/test_topk_ours.py"}]
        assert change["inject"]["file"] == "tinytrain/metrics/accuracy.py"  # what only our tests cover
        assert all(n.startswith("tests/ours/test_topk_ours.py::") for n in change["fail_to_pass"])
        if change["inject"]["mutation"] != "remove_body":  # the model is told it cannot run those tests
            assert t["instruction"].startswith("These tests fail. They are not in your working copy"), t["instruction"]
    proc = run_cli("evaluator.validate", "--repos", "demo", "--task-set", "l2", "--tasks-dir", str(tmp_path / "tasks"),
                   "--cache-dir", str(tmp_path / "cache"), "--sandbox", sandbox_flag(), timeout=900)
    assert proc.returncode == 0 and f"{len(tasks)}/{len(tasks)} tasks valid" in proc.stdout, proc.stdout + proc.stderr



@pytest.mark.slow
def test_a_pytest_ini_below_the_root_keeps_node_ids_repository_relative(tmp_path: Path) -> None:
    """opencompass keeps its pytest.ini in tests/: pytest would then name tests relative to that folder
    (`test_x.py::t`), which neither matched the test files the generator runs nor, as a file to run,
    the grader's checkout root. Both run pytest with the repository root as its rootdir."""
    out = tmp_path / "tasks" / "l2" / "demo"
    folder = hidden_folder(out)
    (folder / "tests" / "ours" / "pytest.ini").write_text("[pytest]\npython_files = test_*.py\n")
    proc = run_cli("evaluator.generate", "--repo", "demo", "--kind", "change", "--tests", "tests/ours",
                   "--hidden-tests", str(folder), "--max-tasks", "1", "--seed", "0", "--sandbox", sandbox_flag(),
                   "--cache-dir", str(tmp_path / "cache"), "--out", str(out), timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [task] = [yaml.safe_load(p.read_text()) for p in sorted(out.glob("demo_inj_*.yaml"))]
    ids = task["change"]["fail_to_pass"] + task["change"]["pass_to_pass"]
    assert ids and all(n.startswith("tests/ours/test_topk_ours.py::") for n in ids), ids
    proc = run_cli("evaluator.validate", "--repos", "demo", "--task-set", "l2", "--tasks-dir", str(tmp_path / "tasks"),
                   "--cache-dir", str(tmp_path / "cache"), "--sandbox", sandbox_flag(), timeout=900)
    assert proc.returncode == 0 and "1/1 tasks valid" in proc.stdout, proc.stdout + proc.stderr


def test_hidden_tests_outside_the_output_folder_is_a_usage_error(tmp_path: Path) -> None:
    folder = hidden_folder(tmp_path / "elsewhere")
    proc = run_cli("evaluator.generate", "--repo", "demo", "--kind", "change", "--hidden-tests", str(folder),
                   "--sandbox", "local", "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "must be a folder inside the output folder" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()


def test_an_empty_hidden_folder_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "out" / "_hidden").mkdir(parents=True)
    proc = run_cli("evaluator.generate", "--repo", "demo", "--kind", "change", "--hidden-tests",
                   str(tmp_path / "out" / "_hidden"), "--sandbox", "local", "--cache-dir", str(tmp_path / "cache"),
                   "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "holds no file" in proc.stderr, proc.stderr
    assert not (tmp_path / "cache").exists()


def test_a_visible_hidden_file_is_in_the_working_copy_and_grading_still_puts_its_own_back(tmp_path: Path) -> None:
    """`visible: true`: the model starts with the file (committed, so `git status` is clean) and can
    run the tests as they are graded; a change the model makes to it is reset by grading."""
    import shutil
    import subprocess

    from conftest import ROOT
    from evaluator.config.settings import Selection
    from evaluator.execution.change_trial import prepare_change
    from evaluator.tasks.plan import build_plan
    from evaluator.tasks.validation import WEIGHTS_FILE

    src = ROOT / "tasks" / "l2" / "demo"
    dest = tmp_path / "tasks" / "l2" / "demo"
    shutil.copytree(src / "_hidden" / "demo_change_001", dest / "_hidden" / "demo_change_001")
    shutil.copy(src / "demo_change_001.diff", dest)
    task = yaml.safe_load((src / "demo_change_001.yaml").read_text())
    task["change"]["hidden_tests"].append({"path": "tests/conftest.py", "visible": True,
                                           "content": "import pytest\n\nSUPPORT = 'from AgentGym'\n"})
    (dest / "demo_change_001.yaml").write_text(yaml.safe_dump(task, sort_keys=False))
    sel = Selection(repos=["demo"], task_set="l2", tasks_dir=tmp_path / "tasks", repos_config=ROOT / "repos",
                    cache_dir=tmp_path / "cache")
    job = build_plan(sel, epochs=1, prompt_version="v1", weights=WEIGHTS_FILE).jobs[0]
    paths, workspace, _ = prepare_change(job, tmp_path / "work")
    assert workspace == "copy"
    assert (paths.work_root / "tests" / "conftest.py").read_text().endswith("SUPPORT = 'from AgentGym'\n")
    status = subprocess.run(["git", "status", "--porcelain"], cwd=paths.work_root, capture_output=True, text=True)
    assert status.stdout == ""
    assert not (paths.work_root / "tests" / "test_datasets_csv.py").exists()  # the hidden tests stay hidden
    proc = run_cli("evaluator.validate", "--repos", "demo", "--task-set", "l2", "--tasks-dir", str(tmp_path / "tasks"),
                   "--cache-dir", str(tmp_path / "cache"), "--sandbox", sandbox_flag(), timeout=600)
    assert proc.returncode == 0 and "1/1 tasks valid" in proc.stdout, proc.stdout + proc.stderr


def test_show_hidden_must_name_files_of_the_hidden_folder(tmp_path: Path) -> None:
    folder = hidden_folder(tmp_path / "out")
    for extra, needle in ((["--show-hidden", "tests/ours/conftest.py"], "which is not given"),
                          (["--hidden-tests", str(folder), "--show-hidden", "tests/nope.py"], "not in")):
        proc = run_cli("evaluator.generate", "--repo", "demo", "--kind", "change", *extra, "--sandbox", "local",
                       "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out"))
        assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "cache").exists()
