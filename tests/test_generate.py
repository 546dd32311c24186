"""evaluator.generate on fixture repos: known answers, every drop reason, stable ids across a
re-pin, and byte-identical output whatever PYTHONHASHSEED is."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from evaluator.scoring import oracle_registry as oracles
from evaluator.generate.checks import DROP_DUPLICATE, DROP_INVALID, DROP_QUOTA, DROP_TRIVIAL, Checker
from evaluator.generate.model import Candidate
from evaluator.generate.pipeline import enforce_quota, generate
from evaluator.generate.sampler import Sampler
from evaluator.generate.templates import ALL, Context, Template
from evaluator.tasks.specs import RepoSpec
from tests.conftest import git, make_repo, run_cli

FILES = {
    "README.md": "# Gen Fixture\n\nA package for generator tests.\n",
    "LICENSE": "MIT\n",
    "docs/index.md": "# Docs\n",
    "docs/usage.md": "# Usage\n",
    "pkg/__init__.py": "",
    "pkg/registry.py": (
        "class Registry:\n    def __init__(self, name, parent=None, scope='pkg'):\n        self.name = name\n\n"
        "    def register_module(self, name=None, force=False, module=None):\n        return lambda cls: cls\n\n\n"
        "MODELS = Registry('model')\nHOOKS = Registry('hook')\n"),
    "pkg/models.py": (
        "from .registry import MODELS\n\n\nclass Base:\n    def __init__(self, depth=50, width=2.0, act='relu'):\n"
        "        self.depth = depth\n\n\n@MODELS.register_module()\nclass Net(Base):\n    pass\n\n\n"
        "@MODELS.register_module(name='Alias')\nclass Deep(Net):\n    pass\n\n\nclass Deeper(Deep):\n    pass\n"),
    "pkg/hooks.py": (
        "from pkg.registry import HOOKS\n\n\nclass Hook:\n    pass\n\n\n@HOOKS.register_module()\nclass LogHook(Hook):\n"
        "    pass\n\n\n@HOOKS.register_module()\nclass SaveHook(LogHook):\n    pass\n"),
    "pkg/utils.py": (
        "import os\n\nfrom pkg import models\n\n\ndef scale(x, factor=2, mode='linear'):\n    return x\n\n\n"
        "def blank(a=None, b=None):\n    return a\n\n\n"
        "def same_a(x, a=1, b=2):\n    return x\n\n\ndef same_b(y, a=1, b=+2):\n    return y\n"),
    "pkg/cfg.py": (
        "from dataclasses import dataclass\n\n\n@dataclass\nclass TrainCfg:\n    epochs: int = 12\n    lr: float = 0.1\n"
        "    name: str = 'run'\n"),
    "tools/train.py": (
        "import argparse\n\nfrom pkg import models\nfrom pkg.models import Net\n\n\ndef parse():\n"
        "    p = argparse.ArgumentParser()\n    p.add_argument('config')\n    p.add_argument('--work-dir', default='./w')\n"
        "    p.add_argument('--resume', action='store_true')\n    return p.parse_args()\n"),
    "config.yaml": "model:\n  depth: 18\n  layers: [64, 128]\n  name: tiny\n",
    "pyproject.toml": "[project]\nname = \"genfix\"\nversion = \"0.3.1\"\n\n[tool.lint]\nline-length = 110\n",
    "tests/test_ops.py": (
        "import pytest\n\n\n@pytest.mark.parametrize('a', [1, 2, 3])\n@pytest.mark.parametrize('b', [0, 1])\n"
        "def test_mul(a, b):\n    assert a * b >= 0\n\n\n@pytest.mark.parametrize('x', [1, 2])\ndef test_one(x):\n"
        "    assert x\n\n\ndef test_plain():\n    assert True\n"),
}


def setup_repo(tmp: Path, files: dict[str, str] = FILES) -> dict[str, Any]:
    commit = make_repo(tmp / "src", files)
    repos = tmp / "repos"
    repos.mkdir()
    (repos / "fx.yaml").write_text(yaml.safe_dump({"id": "fx", "url": str(tmp / "src"), "ref": commit}))
    return {"repos": repos, "commit": commit, "src": tmp / "src", "cache": tmp / "cache"}


def cli_args(ws: dict[str, Any], out: Path, *extra: str) -> list[str]:
    return ["--repo", "fx", "--repos-config", str(ws["repos"]), "--cache-dir", str(ws["cache"]), "--out", str(out), *extra]


def load_out(out: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in sorted(out.glob("fx_gen_*.yaml"))}


def by_call(tasks: dict[str, dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(t["outputs"][0]["oracle"]["fn"], json.dumps(t["outputs"][0]["oracle"]["args"], sort_keys=True)): t
            for t in tasks.values()}


@pytest.fixture
def generated(tmp_path: Path) -> dict[str, Any]:
    ws = setup_repo(tmp_path)
    out = tmp_path / "out"
    r = run_cli("evaluator.generate", *cli_args(ws, out, "--max-tasks", "60"))
    assert r.returncode == 0, r.stderr
    return {**ws, "out": out, "tasks": load_out(out), "report": json.loads((out / "_generation_report.json").read_text()),
            "stdout": r.stdout}


def test_known_answers_and_format(generated: dict[str, Any]) -> None:
    tasks, answers = generated["tasks"], generated["report"]["answers"]
    calls = by_call(tasks)

    def answer(fn: str, **args: Any) -> Any:
        task = calls[(fn, json.dumps(args, sort_keys=True))]
        return answers[task["id"]]["answer"][task["outputs"][0]["key"]]

    assert answer("python_function_defaults", path="pkg/utils.py", qualname="scale") == {"factor": 2, "mode": "linear"}
    assert answer("python_argparse_defaults", path="tools/train.py") == {"config": None, "work_dir": "./w", "resume": False}
    assert answer("dataclass_defaults", path="pkg/cfg.py", class_name="TrainCfg") == {"epochs": 12, "lr": 0.1, "name": "run"}
    assert answer("python_registered_classes", registry="MODELS", root="pkg", exclude_dirs=["configs"],
                  names="registered") == ["Alias", "Net"]
    assert answer("python_subclasses", base="Base", root="pkg", exclude_dirs=["configs"],
                  transitive=True) == ["Deep", "Deeper", "Net"]
    assert answer("yaml_query", path="config.yaml", query="model.depth") == 18
    # tests/test_ops.py offers three pytest questions; the set rules keep two of them (at most 2 per file).
    pytest_items = {"": 9, "test_mul": 6, "test_one": 2}
    asked = [t for t in tasks.values() if t["outputs"][0]["oracle"]["fn"] == "pytest_param_count"]
    assert len(asked) == 2
    for t in asked:
        assert answers[t["id"]]["answer"]["test_items"] == pytest_items[t["outputs"][0]["oracle"]["args"].get("function", "")]
    # `find . -name '*.md' | wc -l` already prints the Markdown count: the template is dropped, with the reason.
    assert generated["report"]["dropped_templates"]["glob_count_md"].startswith("naive pipeline answers it: `find")
    for tid, t in tasks.items():
        assert tid == t["id"] and t["tags"][:2] == ["generated", t["provenance"]["template"]]
        assert t["provenance"]["commit"] == generated["commit"] and t["provenance"]["seed"] == 0
        assert t["difficulty"] in ("easy", "medium", "hard") and t["difficulty_reason"]
        assert t["one_pipeline"] is ALL[t["provenance"]["template"]].one_pipeline
        assert "eval_artifacts/answer" in t["instruction"]
    templates = {t["provenance"]["template"] for t in tasks.values()}
    assert {"python_function_defaults", "python_import_users", "toml_query", "answer_md_kv_matches"} <= templates


def test_drop_reasons_and_validation(generated: dict[str, Any], tmp_path: Path) -> None:
    drops = generated["report"]["drops"]
    reasons = {d["reason"] for d in drops}
    assert DROP_TRIVIAL in reasons  # blank(a=None, b=None)
    invalid = [d for d in drops if d["reason"] == DROP_INVALID]
    assert invalid and all("equals the truth" in d["detail"] for d in invalid)  # same_a vs same_b (b=+2)
    assert "dropped by reason:" in generated["stdout"]
    # What generate wrote, evaluator.validate accepts.
    r = run_cli("evaluator.validate", "--repos-config", str(generated["repos"]), "--tasks-dir", str(generated["out"]),
                "--task-set", ".", "--cache-dir", str(generated["cache"]))
    assert r.returncode == 0, r.stdout[-2000:]


def test_quota_and_duplicates(tmp_path: Path) -> None:
    ws = setup_repo(tmp_path)
    out = tmp_path / "out"
    four = "yaml_query,toml_query,pytest_param_count,python_function_defaults"
    # Without the set rules: two of the four are one-pipeline, and only the template quota is under test here.
    r = run_cli("evaluator.generate", *cli_args(ws, out, "--max-tasks", "4", "--templates", four, "--no-set-rules"))
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "_generation_report.json").read_text())
    assert list(report["per_template"].values()) == [1, 1, 1, 1]
    assert report["drops_by_reason"].get(DROP_QUOTA, 0) > 0

    class Twice(Template):
        name = "twice"

        def candidates(self, ctx: Context) -> list[Candidate]:
            base = dict(template=self.name, key="n", type="int", fn="glob_count", args={"glob": "**/*.py"},
                        reason="count", instruction="Count .py files. Write to eval_artifacts/answer.json: {\"n\": <int>} .")
            return [Candidate(params={"v": 1}, **base), Candidate(params={"v": 2}, **base)]  # type: ignore[arg-type]

    repo = RepoSpec(id="fx", url=str(ws["src"]), ref=ws["commit"])
    ctx = Context(repo_id="fx", root=ws["src"], commit=ws["commit"], sampler=Sampler(0), cache=oracles.FactCache(None))
    res = generate(ctx, Checker(ctx, repo), [Twice()], max_tasks=5, seed=0)
    assert len(res.accepted) == 1 and [d.reason for d in res.drops] == [DROP_DUPLICATE]
    # The final set respects the share: 3 of 4 from one template is cut back.
    kept, dropped = enforce_quota([res.accepted[0]] * 3, 0.5)
    assert len(kept) == 1 and {d.reason for d in dropped} == {DROP_QUOTA}


def test_repin_report_and_stable_ids(tmp_path: Path) -> None:
    ws = setup_repo(tmp_path)
    out = tmp_path / "out"
    args = ("--templates", "python_function_defaults", "--max-tasks", "50", "--no-set-rules")  # every function, not 2 per file
    assert run_cli("evaluator.generate", *cli_args(ws, out, *args)).returncode == 0
    first = load_out(out)
    src = ws["src"]
    text = (src / "pkg/utils.py").read_text().replace("factor=2", "factor=3")
    (src / "pkg/utils.py").write_text(text + "\n\ndef extra(p=5, q='z'):\n    return p\n")
    models = (src / "pkg/models.py").read_text().replace("depth=50, width=2.0, act='relu'", "depth, width, act")
    (src / "pkg/models.py").write_text(models)
    git(src, "commit", "-qam", "change")
    sha2 = git(src, "rev-parse", "HEAD")
    r = run_cli("evaluator.generate", *cli_args(ws, out, *args, "--ref", sha2))
    assert r.returncode == 0, r.stderr
    diff = json.loads((out / "_generation_report.json").read_text())["repin"]
    ids = {t["outputs"][0]["oracle"]["args"]["qualname"]: tid for tid, t in first.items()}
    second = load_out(out)
    assert diff["changed"] == [ids["scale"]]
    assert diff["disappeared"] == [ids["Base.__init__"]]
    assert ids["Registry.__init__"] in diff["survived"] and ids["Registry.__init__"] in second
    assert len(diff["new"]) == 1 and second[diff["new"][0]]["outputs"][0]["oracle"]["args"]["qualname"] == "extra"
    assert second[ids["scale"]]["provenance"]["commit"] == sha2 and ids["Base.__init__"] not in second
    assert "re-pin: survived" in r.stdout


def test_byte_identical_across_hash_seeds(tmp_path: Path) -> None:
    ws = setup_repo(tmp_path)
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"out{seed}"
        r = run_cli("evaluator.generate", *cli_args(ws, out, "--seed", "7"), env={"PYTHONHASHSEED": seed})
        assert r.returncode == 0, r.stderr
        outs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert outs[0] == outs[1] and len(outs[0]) > 10


def test_review_writes_nothing_and_bad_input(tmp_path: Path) -> None:
    ws = setup_repo(tmp_path)
    r = run_cli("evaluator.generate", "--repo", "fx", "--repos-config", str(ws["repos"]), "--cache-dir", str(ws["cache"]),
                "--review", "--templates", "easy", "--no-set-rules", cwd=tmp_path)
    assert r.returncode == 0 and "expected (equals): true" in r.stdout and "nothing written" in r.stdout
    assert not (tmp_path / "tasks").exists()
    for bad in (["--templates", "nope"], ["--max-tasks", "0"], ["--repo", "missing"], ["--ref", "no-such-ref"]):
        argv = cli_args(ws, tmp_path / "o", *bad)
        r = run_cli("evaluator.generate", *argv)
        assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr, (bad, r.stderr)


def test_l1_wrapper_generates_easy_tier(tmp_path: Path) -> None:
    make_repo(tmp_path / "plain", FILES)
    out = tmp_path / "l1"
    r = run_cli("tools.generate_l1_tasks", "--repo-id", "plain", "--repo-root", str(tmp_path / "plain"),
                "--out", str(out), "--cache-dir", str(tmp_path / "cache"))
    assert r.returncode == 0, r.stderr
    templates = {yaml.safe_load(p.read_text())["provenance"]["template"] for p in out.glob("plain_gen_*.yaml")}
    assert templates == set(list(ALL)[:10])
