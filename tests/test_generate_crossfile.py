"""The cross-file generator templates (evaluator/generate/templates/crossfile.py): they make
validated tasks whose answers a hand reading of the fixture gives, tag them `cross-file`, and
offer nothing a naive grep already answers (issue 16 items 3 and 6)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import make_repo, run_cli

TEMPLATES = ["python_call_sites", "python_calling_tests", "python_name_origin", "python_config_inherited_value"]
FILES = {
    "pkg/__init__.py": "from .core import *\nfrom .models import Net\n",
    "pkg/core/__init__.py": "from .build import build, unused\n",
    "pkg/core/build.py": "def build(cfg):\n    return cfg\n\n\ndef unused():\n    return 1\n",
    "pkg/models/__init__.py": "from .net import Net\n",
    "pkg/models/net.py": "from pkg.core import build\n\n\nclass Net:\n    def __init__(self):\n        self.b = build(1)\n",
    "pkg/models/other.py": "class Net:  # same name, another class\n    pass\n",
    "pkg/runner.py": "from .core import build\n\n# build(cfg) is called below\nx = build({})\ny = [build(2), build(3)]\n",
    "pkg/hooks.py": "import pkg.core as core\n\n\ndef rebuild(cfg):\n    return core.build(cfg)\n",
    "pkg/docs.py": "'''Call build(cfg) to build.'''\n",
    "tests/test_build.py": "from pkg.core import build\n\n\ndef test_build():\n    assert build(1) == 1\n",
    "tests/test_runner.py": "from pkg import runner\n\n\ndef test_runner():\n    assert runner.build(2) == 2\n",
    "tests/test_import_only.py": "from pkg.core import build  # imported, never called\n",
    "configs/base.py": "model = dict(type='Net', depth=50, head=dict(classes=1000))\nlr = 0.1\n",
    "configs/child.py": "_base_ = './base.py'\nmodel = dict(head=dict(classes=10))\n",
}


def test_cross_file_templates_make_validated_tasks(tmp_path: Path) -> None:
    commit = make_repo(tmp_path / "src", FILES)
    (tmp_path / "repos").mkdir()
    (tmp_path / "repos" / "fx.yaml").write_text(yaml.safe_dump({"id": "fx", "url": str(tmp_path / "src"), "ref": commit}))
    tasks, answers = [], {}
    for template in TEMPLATES:  # one at a time: the pipeline's per-template quota would cut a tiny set
        out = tmp_path / template
        r = run_cli("evaluator.generate", "--repo", "fx", "--repos-config", str(tmp_path / "repos"), "--cache-dir",
                    str(tmp_path / "cache"), "--out", str(out), "--templates", template, "--max-tasks", "20")
        assert r.returncode == 0, r.stdout + r.stderr
        tasks += [yaml.safe_load(p.read_text()) for p in sorted(out.glob("fx_gen_*.yaml"))]
        answers.update(json.loads((out / "_generation_report.json").read_text())["answers"])
    got: dict[tuple[str, str], Any] = {}
    for t in tasks:
        o = t["outputs"][0]
        got[(o["oracle"]["fn"], json.dumps(o["oracle"]["args"], sort_keys=True))] = answers[t["id"]]["answer"][o["key"]]
        assert "cross-file" in t["tags"] and t["difficulty"] in ("medium", "hard") and t["difficulty_reason"]

    def answer(fn: str, **args: Any) -> Any:
        return got[(fn, json.dumps(args, sort_keys=True))]

    # pkg/docs.py mentions build( in a docstring and pkg/core/build.py defines it: grep -rl is wrong here.
    calls = {"function": "build", "root": "pkg", "exclude_dirs": ["configs"]}
    assert answer("python_call_sites", **calls, by="file") == ["pkg/hooks.py", "pkg/models/net.py", "pkg/runner.py"]
    assert answer("python_call_sites", **calls, by="line") == [
        "pkg/hooks.py:5", "pkg/models/net.py:6", "pkg/runner.py:4", "pkg/runner.py:5"]
    # tests/test_import_only.py only imports it: a grep for the name would list it.
    assert answer("python_call_sites", function="build", root="tests", by="file") == [
        "tests/test_build.py", "tests/test_runner.py"]
    # Net is defined in two files, so a grep for `class Net` does not settle it; the imports do.
    assert answer("python_name_origin", module="pkg", name="Net") == "pkg/models/net.py"
    assert answer("python_config_inherited_value", path="configs/child.py", query="model") == {
        "type": "Net", "depth": 50, "head": {"classes": 10}}
    assert answer("python_config_inherited_value", path="configs/child.py", query="lr") == 0.1
    # `build` and `unused` are defined once each (grep answers where); `unused` is never called.
    asked = {(fn, json.loads(a).get("name")) for fn, a in got}
    assert ("python_name_origin", "build") not in asked and ("python_name_origin", "unused") not in asked
