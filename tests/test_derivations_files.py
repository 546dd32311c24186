"""Second derivations of the file-tree, text-search and image oracles (derivations/files.py,
derivations/images.py; issue 16 item 2): hand-counted answers on fixture trees, agreement with
the oracles, and `validate` failing a task whose two derivations disagree or that has none."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image, ImageDraw

from conftest import POLICY, make_repo, run_cli
from evaluator.scoring import oracle_registry as oracles

FILES: dict[str, str | bytes] = {
    "README.md": "\n  \t\n\u00a0\nHello world  \r\nsecond line\n",
    "LICENSE": "MIT\n",
    "a.py": "import os\nTOKEN = 'tok'  # tok\n",
    "pkg/b.py": "def f():\n    return 'TOK tok'\n",
    "pkg/sub/c.py": "x = 1\n",
    ".hidden/d.py": "tok\n",
    "docs/guide.md": "tok tok tok\n",
    "docs/conf.yaml": "a: 1\n",
    "docs/ci.yml": "b: 2\n",
    "build/e.py": "tok\n",
    "crlf.txt": "tok\r\nnot tok\r\n",
    "blob.bin": b"tok\x00tok\n",  # a NUL byte: binary, never searched
    "big.txt": "x" * 5000,
    "big2.txt": "y" * 5000,  # ties with big.txt
}


def derive(fn: str, root: Path, **args: Any) -> Any:
    oracle = oracles.resolve(fn)
    derivation = oracles.derivation_for(oracle)
    assert derivation is not None, fn
    return derivation.fn(repo_root=root, **args)


def oracle(fn: str, root: Path, **args: Any) -> Any:
    return oracles.resolve(fn).fn(repo_root=root, **args)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A plain directory (no .git), with a link to a file and a link to a directory."""
    root = tmp_path / "tree"
    for rel, data in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data if isinstance(data, bytes) else data.encode())
    os.symlink("a.py", root / "link.py")
    os.symlink("pkg", root / "pkglink")
    return root


def test_entry_counts_and_license(tree: Path) -> None:
    # README.md LICENSE a.py pkg docs build crlf.txt blob.bin big.txt big2.txt link.py pkglink (+ .hidden)
    assert derive("top_level_entry_count", tree) == 12
    assert derive("top_level_entry_count", tree, exclude=["build", "nope"]) == 11
    assert derive("top_level_entry_count", tree, exclude_hidden=False) == 13
    assert derive("dir_top_entry_count", tree, path="pkg") == 2
    assert derive("dir_top_entry_count", tree, path="pkglink") == 2  # a link to a directory is followed
    assert derive("dir_top_entry_count", tree, path="a.py") == 0
    assert derive("dir_top_entry_count", tree, path="missing") == 0
    assert derive("dir_top_entry_count", tree, path=".", exclude_hidden=False) == 13
    assert derive("has_license_file", tree, paths=["COPYING", "LICENSE"]) is True
    assert derive("has_license_file", tree, paths=["COPYING", "docs"]) is False  # a directory is not a file
    for fn, args in [("top_level_entry_count", {"exclude": ["build"]}), ("dir_top_entry_count", {"path": "pkglink"}),
                     ("dir_top_entry_count", {"path": "missing"}), ("has_license_file", {"paths": ["docs", "LICENSE"]})]:
        assert derive(fn, tree, **args) == oracle(fn, tree, **args), (fn, args)


def test_readme_first_line_skips_unicode_blank_lines(tree: Path) -> None:
    # a line of spaces and tab, then a line of one no-break space: both blank; CRLF is cut off
    assert derive("readme_first_nonempty_line", tree) == "Hello world  "
    assert derive("readme_first_nonempty_line", tree, path="docs/guide.md") == "tok tok tok"
    (tree / "odd.md").write_text("\x0c\u2028  \x85first\rsecond")
    assert derive("readme_first_nonempty_line", tree, path="odd.md") == "first"
    for path in ("README.md", "odd.md"):
        assert derive("readme_first_nonempty_line", tree, path=path) == oracle("readme_first_nonempty_line", tree, path=path)


def test_glob_count_and_glob_files(tree: Path) -> None:
    # glob_count: files and links to files, not through the linked directory (pathlib's `**`)
    assert derive("glob_count", tree, glob="**/*.py") == 6  # a, link, pkg/b, pkg/sub/c, .hidden/d, build/e
    assert derive("glob_count", tree, glob="**/*.py", exclude_dirs=["build"]) == 5
    assert derive("glob_count", tree, glob="*.py") == 2
    assert derive("glob_count", tree, glob="docs/*.{yml,yaml}") == 2
    assert derive("glob_count", tree, glob="**/*.{md,txt}") == 5
    # glob_files: regular files only
    assert derive("glob_files", tree, glob="**/*.py") == [".hidden/d.py", "a.py", "build/e.py", "pkg/b.py", "pkg/sub/c.py"]
    assert derive("glob_files", tree, glob="**/*.py", exclude_dirs=["pkg/sub", "build"]) == [".hidden/d.py", "a.py", "pkg/b.py"]
    assert derive("glob_files", tree, glob="pkg/**") == ["pkg/b.py", "pkg/sub/c.py"]
    assert derive("glob_files", tree, glob="docs/[c]*.y*ml") == ["docs/ci.yml", "docs/conf.yaml"]
    for fn, glob, excl in [("glob_count", "**/*.py", None), ("glob_count", "**/*.{md,txt}", [".hidden"]),
                           ("glob_files", "**/*.py", ["pkg/sub"]), ("glob_files", "*", None)]:
        assert derive(fn, tree, glob=glob, exclude_dirs=excl) == oracle(fn, tree, glob=glob, exclude_dirs=excl)


def test_largest_file_and_files(tree: Path) -> None:
    # tie between big.txt and big2.txt: the second derivation keeps the path `sort -nr` puts first
    assert derive("largest_file", tree) == {"path": "big2.txt", "size": 5000}
    assert derive("largest_files", tree) == {"paths": ["big.txt", "big2.txt"], "size": 5000}
    assert derive("largest_files", tree) == oracle("largest_files", tree)
    (tree / "big2.txt").write_text("y" * 4000)
    assert derive("largest_file", tree) == oracle("largest_file", tree) == {"path": "big.txt", "size": 5000}
    (tree / "pkg" / "sub" / "huge.txt").write_text("z" * 9000)
    assert derive("largest_file", tree, exclude_dirs=["sub"]) == {"path": "big.txt", "size": 5000}
    assert derive("largest_files", tree, exclude_dirs=["sub"]) == oracle("largest_files", tree, exclude_dirs=["sub"])
    empty = tree / "empty"
    empty.mkdir()
    assert derive("largest_file", empty) == oracle("largest_file", empty) == {"path": "", "size": 0}
    assert derive("largest_files", empty) == oracle("largest_files", empty) == {"paths": [], "size": 0}


def test_repo_token_count(tree: Path) -> None:
    # a.py 2, pkg/b.py 1, .hidden/d.py 1, docs/guide.md 3, build/e.py 1, crlf.txt 2; blob.bin has a NUL
    assert derive("repo_token_count", tree, token="tok") == 10
    assert derive("repo_token_count", tree, token="tok", exclude_dirs=["build"]) == 9
    assert derive("repo_token_count", tree, token="tok", case_insensitive=True) == 12  # + TOKEN, TOK
    assert derive("repo_token_count", tree, token="tok", max_bytes=10) == 2  # .hidden/d.py, build/e.py
    for args in [{"token": "tok"}, {"token": "TOK", "case_insensitive": True, "exclude_dirs": [".hidden"]},
                 {"token": "tok", "max_bytes": 10}, {"token": "tok", "max_bytes": None}]:
        assert derive("repo_token_count", tree, **args) == oracle("repo_token_count", tree, **args), args


def test_grep_count_and_files(tree: Path) -> None:
    assert derive("grep_count", tree, pattern="tok") == 4  # lines in a.py, pkg/b.py, .hidden/d.py, build/e.py
    assert derive("grep_files", tree, pattern="tok") == [".hidden/d.py", "a.py", "build/e.py", "pkg/b.py"]
    # a regex anchored at the line end matches before CRLF; blob.bin (NUL) is never searched
    assert derive("grep_count", tree, pattern="^tok$", glob="**", regex=True) == 3
    assert derive("grep_files", tree, pattern="^tok$", glob="**", regex=True) == [".hidden/d.py", "build/e.py", "crlf.txt"]
    assert derive("grep_count", tree, pattern="(?<=')tok", glob="*.py", regex=True) == 1  # look-behind: PCRE2
    assert derive("grep_count", tree, pattern="tok", exclude_dirs=["pkg", "build"]) == 2
    for fn in ("grep_count", "grep_files"):
        for args in [{"pattern": "tok"}, {"pattern": "^tok$", "glob": "**", "regex": True},
                     {"pattern": r"(?<=')tok|\bx\b", "glob": "**/*.py", "regex": True, "exclude_dirs": ["sub"]}]:
            assert derive(fn, tree, **args) == oracle(fn, tree, **args), (fn, args)


PALETTE = {"red": (220, 20, 20), "blue": (0, 60, 230), "green": (0, 160, 60), "yellow": (250, 220, 0)}


@pytest.fixture
def images(tmp_path: Path) -> Path:
    root = tmp_path / "img"
    root.mkdir()
    grid = Image.new("RGB", (120, 80), "white")
    draw = ImageDraw.Draw(grid)
    for i, name in enumerate(PALETTE):  # 2 x 2 cells: red blue / green yellow
        x, y = (i % 2) * 60, (i // 2) * 40
        draw.rectangle([x, y, x + 59, y + 39], fill=PALETTE[name])
    grid.save(root / "grid.png")
    grid.save(root / "grid.webp", lossless=True)
    grid.convert("P", palette=Image.Palette.ADAPTIVE, colors=8).save(root / "grid.gif")
    for shape in ("square", "circle", "triangle"):
        img = Image.new("L", (200, 160), 255)
        d = ImageDraw.Draw(img)
        {"square": lambda: d.rectangle([40, 30, 140, 130], fill=0),
         "circle": lambda: d.ellipse([40, 20, 160, 140], fill=30),
         "triangle": lambda: d.polygon([(100, 20), (30, 140), (170, 140)], fill=60)}[shape]()
        img.save(root / f"{shape}.png")
    bars = Image.new("RGB", (100, 50), "white")
    d = ImageDraw.Draw(bars)
    for x in (10, 40, 70):
        d.rectangle([x, 10, x + 9, 49], fill=(20, 20, 20))
    d.rectangle([0, 5, 1, 49], fill=(0, 0, 0))  # a 2-pixel run: shorter than min_run
    bars.save(root / "bars.jpg", quality=95)
    bars.save(root / "bars.bmp")
    return root


def test_image_size_from_header_bytes(images: Path) -> None:
    for name, size in [("grid.png", (120, 80)), ("grid.webp", (120, 80)), ("grid.gif", (120, 80)),
                       ("bars.jpg", (100, 50)), ("bars.bmp", (100, 50)), ("circle.png", (200, 160))]:
        assert derive("image_size", images, path=name) == {"width": size[0], "height": size[1]}
        assert derive("image_size", images, path=name) == oracle("image_size", images, path=name)
    (images / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match="not a PNG"):
        derive("image_size", images, path="notes.txt")


def test_image_grid_colors_by_hue(images: Path) -> None:
    want = [["red", "blue"], ["green", "yellow"]]
    for name in ("grid.png", "grid.webp", "grid.gif"):
        assert derive("image_grid_colors", images, path=name, rows=2, cols=2) == want
        assert oracle("image_grid_colors", images, path=name, rows=2, cols=2) == want
    assert derive("image_grid_colors", images, path="grid.png", rows=1, cols=1) == [["yellow"]]  # centre (60, 40)


def test_image_shape_by_width_profile(images: Path) -> None:
    for shape in ("square", "circle", "triangle"):
        assert derive("image_shape", images, path=f"{shape}.png") == shape
        assert oracle("image_shape", images, path=f"{shape}.png") == shape
    Image.new("L", (50, 50), 255).save(images / "blank.png")
    with pytest.raises(ValueError, match="nothing darker"):
        derive("image_shape", images, path="blank.png")


def test_image_dark_runs(images: Path) -> None:
    for name in ("bars.jpg", "bars.bmp"):
        assert derive("image_dark_runs", images, path=name, y=30) == 3
        assert derive("image_dark_runs", images, path=name, y=30, min_run=2) == 4  # the thin bar counts too
        assert derive("image_dark_runs", images, path=name, y=7) == 0  # above the bars: only the thin one
        assert derive("image_dark_runs", images, path=name, y=30) == oracle("image_dark_runs", images, path=name, y=30)


# --- validate: a second derivation that disagrees, one that is missing, one that agrees ---------

PLUGIN = "tests.plugins.derivation_oracles"
REQUIREMENTS = "numpy>=1.20\nrich\n-e git+https://example.invalid/rouge.git@master#egg=rouge_chinese\ntorch; python_version>'3'\n"


def _task(task_id: str, key: str, otype: str, fn: str) -> dict[str, Any]:
    return {"id": task_id, "repo": "fixture", "difficulty": "easy", "initial_working_dir": ".",
            "instruction": f"List {key}. Write to eval_artifacts/answer.json: {{\"{key}\": <{otype}>}} .",
            "command_policy": POLICY, "outputs": [{"key": key, "type": otype, "oracle": {"fn": fn, "args": {}}}],
            "max_commands": 6, "timeout_seconds": 60}


def test_validate_fails_on_disagreement_and_on_a_missing_derivation(tmp_path: Path) -> None:
    commit = make_repo(tmp_path / "src", {"requirements.txt": REQUIREMENTS, "README.md": "# fx\n"})
    repos = tmp_path / "repos"
    repos.mkdir()
    (repos / "fixture.yaml").write_text(yaml.safe_dump({"id": "fixture", "url": str(tmp_path / "src"), "ref": commit}))
    tasks = tmp_path / "tasks" / "l1" / "fixture"
    tasks.mkdir(parents=True)
    for task in (_task("agree", "names", "list", f"{PLUGIN}:requirement_names"),
                 _task("disagree", "names", "list", f"{PLUGIN}:requirement_names_dropping_editables"),
                 _task("missing", "count", "int", f"{PLUGIN}:requirement_count")):
        (tasks / f"{task['id']}.yaml").write_text(yaml.safe_dump(task, sort_keys=False))
    out = tmp_path / "verdicts.json"
    r = run_cli("evaluator.validate", "--repos-config", str(repos), "--tasks-dir", str(tmp_path / "tasks"),
                "--cache-dir", str(tmp_path / "cache"), "--json", str(out))
    assert r.returncode == 1, r.stdout + r.stderr
    verdicts = {v["task_id"]: v for v in json.loads(out.read_text())}
    assert verdicts["agree"]["ok"], verdicts["agree"]
    disputed = verdicts["disagree"]["problems"]
    assert disputed == [f"`names`: the two derivations disagree: the oracle gives [\"numpy\", \"rich\", \"torch\"], "
                        "the second derivation (scan with the `#egg=` name of `-e` lines) gives "
                        "[\"numpy\", \"rich\", \"rouge_chinese\", \"torch\"]"], disputed
    missing = verdicts["missing"]["problems"]
    assert missing == [f"`count`: oracle {PLUGIN}:requirement_count has no second derivation (register one with "
                       "@second_derivation, docs/03-add-tasks-new-oracle.md)"], missing
    assert "FAIL fixture/disagree" in r.stdout and "ok   fixture/agree" in r.stdout
    assert "2/3 tasks valid" not in r.stdout and "1/3 tasks valid" in r.stdout


def test_a_mid_gray_pixel_is_not_darker_than_its_own_luma(images: Path) -> None:
    """Luma 0.299 R + 0.587 G + 0.114 B of (128, 128, 128) is exactly 128, not below 128; the oracle's
    floating-point sum gave 127.99999999999999 and counted mid-gray as dark, so the two derivations
    disagreed on any chart with a 50 % gray bar."""
    row = Image.new("RGB", (20, 3), "white")
    ImageDraw.Draw(row).rectangle([2, 0, 7, 2], fill=(128, 128, 128))
    ImageDraw.Draw(row).rectangle([10, 0, 15, 2], fill=(127, 127, 127))
    row.save(images / "gray.png")
    for fn in (derive, oracle):
        assert fn("image_dark_runs", images, path="gray.png", y=1, threshold=128) == 1  # only the 127 run
        assert fn("image_dark_runs", images, path="gray.png", y=1, threshold=129) == 2


def test_a_glob_character_range_is_a_range(tree: Path) -> None:
    """`[b-d]` is the letters b to d, as in every glob; the oracles' glob matcher escaped the `-` and
    matched only `b`, `-` and `d`, so `docs/[b-d]*` missed docs/ci.yml and the derivations disagreed."""
    want = ["docs/ci.yml", "docs/conf.yaml"]
    assert derive("glob_files", tree, glob="docs/[b-d]*") == oracle("glob_files", tree, glob="docs/[b-d]*") == want
    assert derive("glob_files", tree, glob="docs/[!b-d]*") == oracle("glob_files", tree, glob="docs/[!b-d]*") == ["docs/guide.md"]
    assert derive("grep_files", tree, pattern=":", glob="**/[a-c]*.y*ml") == ["docs/ci.yml", "docs/conf.yaml"]
    assert oracle("grep_files", tree, pattern=":", glob="**/[a-c]*.y*ml") == ["docs/ci.yml", "docs/conf.yaml"]
