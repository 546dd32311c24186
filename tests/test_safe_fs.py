"""safe_fs: the one way the host reads the workspace. Never follows a symlink, reads only
regular files, never past the cap. Each test runs with openat2 and with the per-component
fallback, and the core checks run again as an unprivileged user."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from evaluator.readback import host_reads
from evaluator.readback import safe_fs
from evaluator.tasks.specs import ReadLimits

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["openat2", "per-component"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "per-component":
        monkeypatch.setattr(safe_fs, "_openat2_works", False)
    return request.param


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """work/ (what the model controls) next to host/ (what it must never reach)."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret.json").write_text('{"k": "HOST-SECRET"}')
    (host / "sub").mkdir()
    (host / "sub" / "answer.json").write_text('{"k": "HOST-SECRET"}')
    work = tmp_path / "work"
    (work / "a" / "b").mkdir(parents=True)
    (work / "a" / "b" / "answer.json").write_text('{"k": 1}')
    return {"host": host, "work": work}


def test_reads_a_regular_file(tree: dict[str, Path], mode: str) -> None:
    assert safe_fs.read_file(tree["work"], "a/b/answer.json", 100) == b'{"k": 1}'
    assert safe_fs.read_file(tree["work"], "./a/./b/answer.json", 100) == b'{"k": 1}'


@pytest.mark.parametrize("component", [0, 1, 2])
def test_a_symlink_at_any_component_is_not_followed(tree: dict[str, Path], mode: str, component: int) -> None:
    """a -> host, a/b -> host/sub, a/b/answer.json -> host/secret.json: each is refused."""
    work, host = tree["work"], tree["host"]
    victim = [work / "a", work / "a" / "b", work / "a" / "b" / "answer.json"][component]
    shutil.rmtree(victim) if victim.is_dir() else victim.unlink()
    target = [host, host / "sub", host / "secret.json"][component]
    if component == 0:
        (host / "b").mkdir()
        (host / "b" / "answer.json").write_text('{"k": "HOST-SECRET"}')
    victim.symlink_to(target)
    with pytest.raises(safe_fs.Escape):
        safe_fs.read_file(work, "a/b/answer.json", 100)


def test_a_symlink_inside_the_workspace_is_not_followed_either(tree: dict[str, Path], mode: str) -> None:
    (tree["work"] / "a" / "link.json").symlink_to("b/answer.json")
    with pytest.raises(safe_fs.Escape):
        safe_fs.read_file(tree["work"], "a/link.json", 100)


@pytest.mark.parametrize("rel", ["../host/secret.json", "/etc/passwd", "a/../../host/secret.json", ""])
def test_dotdot_and_absolute_paths_are_refused(tree: dict[str, Path], mode: str, rel: str) -> None:
    with pytest.raises(safe_fs.Escape):
        safe_fs.read_file(tree["work"], rel, 100)


def test_a_root_swapped_for_a_symlink_is_not_followed(tree: dict[str, Path], mode: str) -> None:
    """With the unisolated local backend a command could replace the task's folder itself."""
    swapped = tree["work"].parent / "swapped"
    swapped.symlink_to(tree["host"])
    with pytest.raises(safe_fs.Escape):
        safe_fs.read_file(swapped, "secret.json", 100)
    got = host_reads.copy_artifacts(swapped, "sub", tree["work"], ReadLimits(), lambda s: s)
    assert got.copied == 0 and got.escapes


def test_missing_file(tree: dict[str, Path], mode: str) -> None:
    with pytest.raises(FileNotFoundError):
        safe_fs.read_file(tree["work"], "a/b/nope.json", 100)


def test_a_fifo_is_refused_without_blocking(tree: dict[str, Path], mode: str) -> None:
    fifo = tree["work"] / "a" / "b" / "fifo"
    os.mkfifo(fifo)  # nobody writes to it: a blocking open would hang the harness here
    with pytest.raises(safe_fs.NotRegular, match="FIFO"):
        safe_fs.read_file(tree["work"], "a/b/fifo", 100)


def test_a_device_is_refused(tree: dict[str, Path], mode: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("creating a device node needs root (the model cannot create one either)")
    os.mknod(tree["work"] / "a" / "zero", 0o666 | 0o020000, os.makedev(1, 5))  # like /dev/zero
    with pytest.raises(safe_fs.NotRegular, match="character device"):
        safe_fs.read_file(tree["work"], "a/zero", 100)


def test_a_directory_is_refused(tree: dict[str, Path], mode: str) -> None:
    with pytest.raises(safe_fs.NotRegular, match="directory"):
        safe_fs.read_file(tree["work"], "a/b", 100)


def test_the_cap_is_hard(tree: dict[str, Path], mode: str) -> None:
    f = tree["work"] / "a" / "ten"
    f.write_bytes(b"x" * 10)
    assert safe_fs.read_file(tree["work"], "a/ten", 10) == b"x" * 10
    with pytest.raises(safe_fs.TooLarge) as info:
        safe_fs.read_file(tree["work"], "a/ten", 9)
    assert info.value.size == 10 and "over the 9-byte limit" in str(info.value)


def test_a_huge_sparse_file_is_refused_before_reading(tree: dict[str, Path], mode: str) -> None:
    with open(tree["work"] / "a" / "huge.json", "wb") as f:
        f.truncate(2 << 30)
    with pytest.raises(safe_fs.TooLarge) as info:
        safe_fs.read_file(tree["work"], "a/huge.json", 1_000_000)
    assert info.value.size == 2 << 30


def test_walk_lists_symlinks_and_never_enters_them(tree: dict[str, Path]) -> None:
    work = tree["work"]
    (work / "a" / "out").symlink_to(tree["host"])
    (work / "a" / "in").symlink_to("b")
    os.mkfifo(work / "a" / "fifo")
    fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
    try:
        entries = {e.rel: e for e in safe_fs.walk(fd, 100)}
    finally:
        os.close(fd)
    assert set(entries) == {"a/b/answer.json", "a/out", "a/in", "a/fifo"}
    assert entries["a/out"].kind == "symlink" and entries["a/out"].link_target == str(tree["host"])
    assert entries["a/fifo"].kind == "FIFO" and entries["a/b/answer.json"].size == 8


def test_walk_stops_at_its_limit_and_depth(tmp_path: Path) -> None:
    for i in range(50):
        (tmp_path / f"f{i:02}").write_text("x")
    deep = tmp_path / "zz"  # after the files
    for _ in range(safe_fs.MAX_DEPTH + 5):
        deep = deep / "d"
    deep.mkdir(parents=True)
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert len(list(safe_fs.walk(fd, 10))) == 10
        kinds = [e.kind for e in safe_fs.walk(fd, 1000)]
    finally:
        os.close(fd)
    assert kinds.count("directory nested too deep") == 1 and kinds.count("file") == 50


@pytest.mark.parametrize(("rel", "target", "out"), [
    ("x", "/etc/passwd", True), ("x", "../y", True), ("d/x", "../y", False), ("d/x", "../../y", True),
    ("x", "y", False), ("x", "d/../../y", True), ("x", "./d/./y", False),
])
def test_leads_out(rel: str, target: str, out: bool) -> None:
    assert safe_fs.leads_out(rel, target) is out


def test_copy_artifacts_caps_and_lists_what_is_left_out(tmp_path: Path) -> None:
    src = tmp_path / "work" / "eval_artifacts"
    src.mkdir(parents=True)
    for i in range(12):
        (src / f"f{i:02}.txt").write_text("y" * 10)
    (src / "big.txt").write_text("z" * 50)
    (src / "leak").symlink_to("/etc/passwd")
    (src / "near").symlink_to("f00.txt")
    dest = tmp_path / "dest"
    dest.mkdir()
    caps = ReadLimits(artifacts_max_files=5, artifacts_max_bytes=45, artifact_file_max_bytes=40)
    got = host_reads.copy_artifacts(tmp_path / "work", "eval_artifacts", dest, caps, lambda s: s)
    assert sorted(p.name for p in dest.iterdir()) == ["f00.txt", "f01.txt", "f02.txt", "f03.txt"]  # 45-byte total
    reasons = {x.path: x.reason for x in got.left_out}
    assert "artifact_file_max_bytes" in reasons["big.txt"] and "artifacts_max_bytes" in reasons["f04.txt"]
    assert "symlink" in reasons["leak"] and "symlink" in reasons["near"]
    assert got.escapes == ["leak -> /etc/passwd"]  # `near` stays inside: listed, not an escape
    caps = ReadLimits(artifacts_max_files=5)
    shutil.rmtree(dest)
    dest.mkdir()
    got = host_reads.copy_artifacts(tmp_path / "work", "eval_artifacts", dest, caps, lambda s: s)
    assert len(list(dest.iterdir())) == 5 and "artifacts_max_files" in {x.path: x.reason for x in got.left_out}["f10.txt"]


def test_copy_artifacts_names_that_are_not_utf8(tmp_path: Path) -> None:
    src = tmp_path / "work" / "eval_artifacts"
    src.mkdir(parents=True)
    with open(os.fsencode(src) + b"/bad\xff.txt", "w") as f:
        f.write("x")
    os.symlink("/etc", os.fsencode(src) + b"/link\xfe")
    dest = tmp_path / "dest"
    dest.mkdir()
    got = host_reads.copy_artifacts(tmp_path / "work", "eval_artifacts", dest, ReadLimits(), lambda s: s)
    assert [p.name for p in dest.iterdir()] == ["bad\\xff.txt"]
    assert [x.path for x in got.left_out] == ["link\\xfe"]
    json.dumps([x.model_dump() for x in got.left_out], ensure_ascii=False).encode("utf-8")  # writable as is
    event = host_reads.read_back_event(None, got)
    assert event is not None and "link\\xfe -> /etc" in event.detail


def test_copy_artifacts_does_not_enter_a_symlinked_folder(tree: dict[str, Path]) -> None:
    (tree["work"] / "eval_artifacts").symlink_to(tree["host"])
    dest = tree["work"].parent / "dest"
    dest.mkdir()
    got = host_reads.copy_artifacts(tree["work"], "eval_artifacts", dest, ReadLimits(), lambda s: s)
    assert list(dest.iterdir()) == [] and len(got.escapes) == 1


UNPRIVILEGED = """
import json, os, sys
from pathlib import Path
from evaluator.readback import safe_fs
work = Path(sys.argv[1])
out = {}
for rel in ("ok.json", "link.json", "dir/answer.json", "fifo"):
    for mode in ("openat2", "fallback"):
        safe_fs._openat2_works = None if mode == "openat2" else False
        try:
            out[f"{rel}/{mode}"] = safe_fs.read_file(work, rel, 100).decode()
        except Exception as exc:
            out[f"{rel}/{mode}"] = type(exc).__name__
print(json.dumps(out))
"""


def test_as_an_unprivileged_user() -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to switch to uid 65534 (already unprivileged here)")
    tmp_path = Path(tempfile.mkdtemp(prefix="agentgym-safefs-"))  # pytest's tmp_path is root-only
    try:
        _unprivileged(tmp_path)
    finally:
        shutil.rmtree(tmp_path)


def _unprivileged(tmp_path: Path) -> None:
    base = tmp_path / "u"
    base.mkdir()
    (base / "ok.json").write_text("{}")
    (base / "link.json").symlink_to(tmp_path / "secret")
    (tmp_path / "secret").write_text("HOST-SECRET")
    (base / "dir").symlink_to(tmp_path)
    os.mkfifo(base / "fifo")
    for p in (tmp_path, base, *base.iterdir()):
        os.lchown(p, 65534, 65534)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8"}
    done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                           UNPRIVILEGED, str(base)], capture_output=True, text=True, env=env, timeout=60, cwd="/")
    if done.returncode != 0 and "Permission denied" in done.stderr:
        pytest.skip(f"uid 65534 cannot reach the interpreter or the checkout here: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    for mode in ("openat2", "fallback"):
        assert got[f"ok.json/{mode}"] == "{}"
        assert got[f"link.json/{mode}"] == "Escape" and got[f"dir/answer.json/{mode}"] == "Escape"
        assert got[f"fifo/{mode}"] == "NotRegular"


def test_read_answer_outcomes(tmp_path: Path) -> None:
    """What scoring makes of each answer file: missing, escaped, too big, not a file, too deep."""
    from evaluator.scoring.score import read_answer

    art = tmp_path / "eval_artifacts"
    art.mkdir()
    assert read_answer(tmp_path).present is False
    (art / "answer.json").write_text('{"k": 1}')
    assert read_answer(tmp_path).data == {"k": 1}
    got = read_answer(tmp_path, max_bytes=5)  # a task's own answer_max_bytes
    assert got.present and got.data is None and "8 bytes, over the 5-byte limit" in (got.error or "")
    (art / "answer.json").write_text("[" * 100_000 + "]" * 100_000)
    assert "not valid JSON" in (read_answer(tmp_path).error or "")  # deep nesting: no RecursionError escapes
    (art / "answer.json").unlink()
    (art / "answer.json").symlink_to(tmp_path / "elsewhere.json")
    (tmp_path / "elsewhere.json").write_text('{"k": 1}')
    got = read_answer(tmp_path)
    assert got.present is False and got.data is None and "symlink" in (got.escape or "")
    (art / "answer.json").unlink()
    os.mkfifo(art / "answer.json")
    assert "FIFO" in (read_answer(tmp_path).error or "")
