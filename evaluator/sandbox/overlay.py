"""The overlay working copy of change tasks: is it available here, and mounting it for one sandbox.

The file tools (agent/toolbox.py) act on the host copy of the working copy, and grading's `git
diff` reads it, so the merged view must exist at a host path while a sandbox is open: the host
mounts the overlay at `SandboxPaths.work_root`, journalled like the scratch tmpfs of ceilings.py so
a killed run's mounts are swept. An overlay mounted inside the sandbox only (bubblewrap >= 0.9's
--overlay, or a mount in a user namespace) would be invisible to the file tools. Two routes:
- `kernel` (the evaluator is root): overlayfs, mounted with mount(2);
- `fuse` (anyone else): fuse-overlayfs, unmounted with fusermount3 (fuse_overlay.py), where both
  are installed and a probe mount works; else change tasks get a copy.

AGENTGYM_WORKSPACE picks: `auto` (default: overlay where it works, else copy), `copy`, `overlay`
(an error at preflight where it cannot work).
"""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Literal

from evaluator.sandbox import fuse_overlay
from evaluator.sandbox.base import Overlay, SandboxUnavailable
from evaluator.sandbox.ceilings import host_mount, host_umount, journal_mount

WORKSPACE_VAR = "AGENTGYM_WORKSPACE"
WorkspaceChoice = Literal["auto", "copy", "overlay"]
Route = Literal["kernel", "fuse"]
OPAQUE = "trusted.overlay.opaque"  # a lower layer's dir with this hides the same dir of the layers below
_BAD_CHARS = (",", ":", "\\")  # separators in overlay's mount options: such paths are not mounted
_PROBED: list[str | None] = []  # the one probe's answer: None (works) or why not
_VOLATILE: list[bool] = []  # the probe found the `volatile` mount option works


def workspace_choice() -> WorkspaceChoice:
    value = os.environ.get(WORKSPACE_VAR, "auto")
    if value not in ("auto", "copy", "overlay"):
        raise SandboxUnavailable(f"{WORKSPACE_VAR} must be `auto`, `copy` or `overlay`, not {value!r}.")
    return value  # type: ignore[return-value]


def unavailable() -> str | None:
    """Why the host cannot mount overlays here (None: it can); probed once per process."""
    if not _PROBED:
        _PROBED.append(_probe())
    return _PROBED[0]


def check_choice(overlay_backend: bool) -> None:
    """Preflight: a bad AGENTGYM_WORKSPACE, or `overlay` where it cannot be, is a usage error."""
    if workspace_choice() != "overlay":
        return
    why = unavailable() if overlay_backend else "this sandbox backend has no overlay working copy"
    if why:
        raise SandboxUnavailable(f"{WORKSPACE_VAR}=overlay, but {why}; use `auto` or `copy`.")


def wanted(overlay_backend: bool) -> bool:
    """Whether change tasks get an overlay (else a copy)."""
    return overlay_backend and workspace_choice() != "copy" and unavailable() is None


def route() -> Route:
    """How this evaluator mounts overlays: root with overlayfs, anyone else with fuse-overlayfs."""
    return "kernel" if os.geteuid() == 0 else "fuse"


def layers_folder() -> str:
    """The cache folder of the layers: one per route, as their modes (open_up) and opaque markers differ."""
    return "overlay" if route() == "kernel" else "overlay-fuse"


def mark_opaque(directory: Path) -> None:
    """Make a lower layer's dir hide the same dir of the layers below, the way the route honours:
    the kernel's xattr (root only), or fuse-overlayfs's marker file (which it keeps out of the
    merged view; the kernel's overlayfs would show it as a file, so the routes' layers are apart)."""
    if route() == "kernel":
        os.setxattr(directory, OPAQUE, b"y")
    else:
        (directory / fuse_overlay.OPAQUE_FILE).write_bytes(b"")


def _probe() -> str | None:
    fuse = route() == "fuse"
    if fuse and (why := fuse_overlay.missing()):
        return why
    name = "fuse-overlayfs" if fuse else "overlayfs"
    top = Path(tempfile.mkdtemp(prefix="agentgym-ovl-probe-"))
    try:
        for d in ("low", "high", "up", "wk", "m", "low/d", "high/d"):
            (top / d).mkdir()
        (top / "low" / "d" / "hidden").write_text("x")
        mark_opaque(top / "high" / "d")
        ov = Overlay(lowers=[top / "high", top / "low"], upper=top / "up", work=top / "wk")
        if fuse:
            mount(ov, top / "m")
        else:
            try:
                mount(ov, top / "m", volatile=True)
                _VOLATILE.append(True)
            except OSError:  # a kernel older than 5.10
                _VOLATILE.append(False)
                mount(ov, top / "m", volatile=False)
        try:
            (top / "m" / "new").write_text("y")
            if os.listdir(top / "m" / "d"):  # the lower file, or the marker itself, shows
                return f"{name} here ignores opaque directories"
        finally:
            unmount(top / "m")
        return None
    except OSError as exc:
        return f"{name} cannot mount an overlay here ({exc.strerror or exc})"
    finally:
        try:
            remove_tree(top)
        except OSError:
            pass  # a probe mount that would not go: left in /tmp (and in the journal, for the sweep)


def mountable(ov: Overlay) -> bool:
    """Its paths can be written in overlay's mount options (else the task gets a copy)."""
    return not any(c in str(p) for p in [*ov.lowers, ov.upper, ov.work] for c in _BAD_CHARS)


def options(ov: Overlay, volatile: bool) -> str:
    if not mountable(ov):
        raise OSError(0, "a layer's path holds `,` `:` or `\\`")
    data = f"lowerdir={':'.join(map(str, ov.lowers))},upperdir={ov.upper},workdir={ov.work}"
    return data + (",volatile" if volatile else "")


def mount(ov: Overlay, at: Path, *, volatile: bool | None = None) -> None:
    """Mount `ov` at the host path `at` (journalled, so a killed evaluator's mount is swept), by
    this evaluator's route: fuse-overlayfs when not root (`volatile` does not apply there).

    `volatile` (the default where the kernel has it, >= 5.10): no sync of the upper dir's whole
    filesystem at unmount, which otherwise flushes every dirty page on that disk (~0.2 s per
    100 MB, for each sandbox that closes). The task's upper dir is thrown away after the trial,
    and a run resumed after a crash starts the task over in a fresh dir, so nothing relies on it
    reaching the disk. overlayfs marks a volatile work dir (work/incompat/volatile) and refuses to
    mount it again; the previous mount of it was ours and was unmounted cleanly (the grader's
    sandbox mounts it after the agent's), which is the case the kernel documents for removing it."""
    fuse = route() == "fuse"
    if volatile is None:
        volatile = _VOLATILE == [True]
    volatile = volatile and not fuse
    if volatile:
        remove_tree(ov.work / "work" / "incompat")
    data = options(ov, volatile)
    journal_mount("+", at)
    try:
        fuse_overlay.mount(data, at) if fuse else host_mount("overlay", at, "overlay", 0, data)
    except OSError:
        journal_mount("-", at)
        raise


def unmount(at: Path) -> None:
    if route() == "kernel":
        host_umount(at)  # a detach: it does not fail on a busy mount
    else:
        try:
            fuse_overlay.unmount(at)
        except OSError:
            return  # still mounted, and still in the journal: the next evaluator's sweep tries again
    journal_mount("-", at)


def open_up(tree: Path) -> None:
    """World-writable modes on a lower layer (dirs 0777, files +rw), kept in a 0700 folder only
    root enters: through the overlay the sandbox uid (any leased one) may change every file, the
    change lands in the task's upper dir, and no other host user can reach the layer itself.
    The kernel route only: under fuse-overlayfs the sandbox runs as the evaluator, who owns the files."""
    for dirpath, dirnames, filenames in os.walk(tree):
        os.chmod(dirpath, 0o777)
        for name in filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                os.chmod(p, stat.S_IMODE(st.st_mode) | 0o666)


def remove_tree(top: Path) -> None:
    """rmtree that also removes what overlayfs left in its work dir: dirs of mode 000, which even
    their owner cannot list or empty until it gives itself the permissions back (top-down first)."""
    if not top.is_symlink() and top.is_dir():
        _enterable(top)
    if top.exists() or top.is_symlink():
        shutil.rmtree(top) if not top.is_symlink() else top.unlink()


def _enterable(path: Path) -> None:
    try:
        os.chmod(path, 0o700)
    except OSError:
        pass  # not ours: rmtree says so if it matters
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            _enterable(Path(entry.path))
