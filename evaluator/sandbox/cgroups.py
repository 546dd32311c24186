"""Per-task memory and process ceilings from a cgroup, when this process may make one.

A task's sandbox (bwrap and everything inside) joins a cgroup of its own, so its
`memory_mb` counts all its processes together (tmpfs pages they write included) and its
`processes` caps how many exist at once. cgroup v2 is used where the evaluator's cgroup
(or a delegated one) lets it enable `memory` and `pids` for children; else the v1
`memory` and `pids` hierarchies where they are writable (root in a container, say).
Where neither is writable, `probe()` returns None and the rlimits are all there is.

Hitting a ceiling is read from the cgroup's own counters (oom kills, refused forks), so
only this task's processes can cause it: no other task, and not the harness.
"""
from __future__ import annotations

import atexit
import itertools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

_SEQ = itertools.count()


@dataclass(frozen=True)
class Tree:
    """Where task cgroups are made: one parent dir per controller (one dir for v2)."""

    version: int
    memory: Path
    pids: Path

    def describe(self) -> str:
        return f"cgroup v{self.version}"


def _mounts() -> list[tuple[str, str, str, str]]:
    """(root, mount point, fs type, super options) of every cgroup mount."""
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 5 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
            found.append((fields[3], fields[4], tail[0], tail[2]))
    return found


def _own() -> dict[str, str]:
    """controller (or "" for v2) -> this process's cgroup path."""
    own: dict[str, str] = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                own[c] = path
    except (OSError, ValueError):
        pass
    return own


def _locate(path: str, root: str, mount: str) -> Path | None:
    rel = os.path.relpath(path, root)
    return None if rel.startswith("..") else Path(mount, rel).resolve()


def _writable(d: Path) -> bool:
    return d.is_dir() and os.access(d, os.W_OK | os.X_OK)


def _v2(own: dict[str, str]) -> Tree | None:
    for root, mount, fstype, _ in _mounts():
        if fstype != "cgroup2" or "" not in own:
            continue
        base = _locate(own[""], root, mount)
        if base is None or not _writable(base):
            continue
        try:
            if not {"memory", "pids"} <= set((base / "cgroup.controllers").read_text().split()):
                continue
            if not {"memory", "pids"} <= set((base / "cgroup.subtree_control").read_text().split()):
                # Fails (EBUSY) when processes live in base itself, unless base is the root:
                # then there is no v2 tree to use, and the v1 one (if any) is tried.
                (base / "cgroup.subtree_control").write_text("+memory +pids")
            parent = base / f"agentgym-{os.getpid()}"
            parent.mkdir(exist_ok=True)
        except OSError:
            continue
        try:
            (parent / "cgroup.subtree_control").write_text("+memory +pids")
        except OSError:
            _remove({parent})
            continue
        return Tree(2, parent, parent)
    return None


def _v1(own: dict[str, str]) -> Tree | None:
    dirs: dict[str, Path] = {}
    for root, mount, fstype, opts in _mounts():
        for c in ("memory", "pids"):
            if fstype == "cgroup" and c in opts.split(",") and c in own and c not in dirs:
                base = _locate(own[c], root, mount)
                if base is not None and _writable(base):
                    dirs[c] = base / f"agentgym-{os.getpid()}"
    if len(dirs) < 2:
        return None
    try:
        for d in dirs.values():
            d.mkdir(exist_ok=True)
    except OSError:
        return None
    return Tree(1, dirs["memory"], dirs["pids"])


def probe() -> Tree | None:
    """The cgroup tree task cgroups go in, or None where none is writable."""
    if os.environ.get("AGENTGYM_CGROUPS") == "off":  # to measure or test the fallback on purpose
        return None
    own = _own()
    tree = _v2(own) or _v1(own)
    if tree is None:
        return None
    atexit.register(_remove, {tree.memory, tree.pids})
    for parent in {tree.memory.parent, tree.pids.parent}:
        _sweep(parent)
    try:  # proves it: a child with both limits set, then gone
        TaskCgroup(tree, memory_bytes=64 << 20, pids=8).close()
    except OSError:
        return None
    return tree


class TaskCgroup:
    """One task's cgroup (one dir per hierarchy on v1). `join_argv` puts a spawn in it."""

    def __init__(self, tree: Tree, *, memory_bytes: int, pids: int) -> None:
        self.tree = tree
        name = f"task-{next(_SEQ)}"
        self.dirs = sorted({tree.memory / name, tree.pids / name})
        for d in self.dirs:
            d.mkdir()
        mem, pid = tree.memory / name, tree.pids / name
        self.memory_dir, self.pids_dir = mem, pid
        try:
            if tree.version == 2:
                (mem / "memory.max").write_text(str(memory_bytes))
                _try_write(mem / "memory.swap.max", "0")  # swap would only slow the ceiling down
                _try_write(mem / "memory.oom.group", "1")  # an OOM kill ends the whole command, not one process
            else:
                (mem / "memory.limit_in_bytes").write_text(str(memory_bytes))
                _try_write(mem / "memory.memsw.limit_in_bytes", str(memory_bytes))
            (pid / "pids.max").write_text(str(pids))
        except OSError:
            self.close()
            raise

    def join_argv(self) -> list[str]:
        """A prefix that moves the spawned process into this cgroup before it runs argv, so
        bwrap and everything it starts count here. (A tiny sh: no preexec_fn in a threaded process.)"""
        procs = [str(d / "cgroup.procs") for d in self.dirs]
        script = 'for f do [ "$f" = -- ] && break; echo $$ >"$f" || exit 125; shift; done; shift; exec "$@"'
        return ["/bin/sh", "-c", script, "agentgym-cgroup", *procs, "--"]

    def counters(self) -> tuple[int, int]:
        """(processes the kernel killed for memory, forks refused by pids.max) so far."""
        if self.tree.version == 2:
            oom = _field(self.memory_dir / "memory.events", "oom_kill")
        else:
            oom = _field(self.memory_dir / "memory.oom_control", "oom_kill")
        return oom, _field(self.pids_dir / "pids.events", "max")

    def close(self) -> None:
        """Kill what is left inside, then remove the cgroup (it must be empty to go)."""
        for _ in range(400):  # up to ~2 s
            left = False
            for d in self.dirs:
                if not d.exists():
                    continue
                for pid in _procs(d):
                    left = True
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                try:
                    d.rmdir()
                except OSError:
                    left = True
            if not left:
                return
            time.sleep(0.005)


def _sweep(parent: Path) -> None:
    """Remove the empty task cgroups an evaluator killed outright (SIGKILL) left behind."""
    for d in parent.glob("agentgym-*"):
        pid = d.name.removeprefix("agentgym-")
        if pid.isdigit() and not Path("/proc", pid).exists():
            _remove({*d.glob("task-*")})
            _remove({d})


def _remove(dirs: set[Path]) -> None:
    for d in dirs:
        try:
            d.rmdir()  # empty once every task cgroup in it is gone
        except OSError:
            pass


def _procs(d: Path) -> list[int]:
    try:
        return [int(p) for p in (d / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _field(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _try_write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError:
        pass  # not every kernel has swap accounting; the memory limit alone still holds
