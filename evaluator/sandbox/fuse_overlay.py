"""The overlay working copy for an evaluator that is not root: fuse-overlayfs, unmounted by fusermount3.

A kernel overlayfs mount needs root on the host (a mount in a user namespace would be invisible to
the host-side file tools), but fuse-overlayfs mounts one as any user through the setuid
fusermount3. Its daemon runs as the evaluator; FUSE without `allow_other` admits only processes
whose kernel uid and gid are the mounting user's, which the unprivileged bwrap sandbox keeps (its
user namespace maps the evaluator's ids onto themselves), so the sandbox reads and writes through
it as the file tools do.

What fuse-overlayfs 1.10 honours (tested): a lower dir is opaque with a `.wh..wh..opq` file in it
(kept out of the merged view), or the `user.fuseoverlayfs.opaque` / `user.overlay.opaque` xattrs;
`trusted.overlay.opaque` cannot be set without root. The file works on every filesystem (tmpfs
before Linux 6.6 has no user xattrs), so it is the marker written; the kernel's overlayfs does not
honour it and would show it, hence one marker per route (overlay.py `mark_opaque`). Deletions are
whiteouts as in overlayfs: 0/0 character devices in the upper dir (Linux >= 5.8 lets any user make
those; older kernels get `.wh.<name>` files). The readback of the upper dir passes over every
`.wh.*` name (`own_marker`): each dir fuse-overlayfs creates holds two such markers of its own.

The daemon detaches from the evaluator: if the evaluator is killed, the mount stays (and works)
until the next evaluator's sweep (ceilings.sweep_mounts, through the same journal as root's mounts)
runs `fusermount3 -u -z` on it; if the daemon is killed, the mount is left dead ("Transport endpoint
is not connected", so os.path.ismount says False: `mounted` reads /proc/self/mountinfo instead) and
the same unmount removes it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

TOOLS = ("fuse-overlayfs", "fusermount3")
OPAQUE_FILE = ".wh..wh..opq"
MOUNT_TIMEOUT_S = 30


def own_marker(name: str) -> bool:
    """A name fuse-overlayfs keeps for itself in an upper dir: every dir it creates gets a
    `.wh..wh..opq` file and a `.wh..opq` whiteout, and a deletion on an old kernel a `.wh.<name>`
    file. It refuses such names to its users (EINVAL), so none of them is the model's."""
    return name.startswith(".wh.")


def missing() -> str | None:
    """Why fuse-overlayfs cannot be tried here (None: both tools are on PATH)."""
    gone = [t for t in TOOLS if shutil.which(t) is None]
    if not gone:
        return None
    return (f"{' and '.join(gone)} {'is' if len(gone) == 1 else 'are'} not on PATH (without root the overlay "
            "needs them: install fuse-overlayfs, e.g. `apt-get install fuse-overlayfs`)")


def _env() -> dict[str, str]:
    """The daemon outlives the call: it gets no API key or other secret of the evaluator's environment."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, env=_env(), timeout=MOUNT_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        raise OSError(0, f"{argv[0]}: {exc}") from None


def _why(done: subprocess.CompletedProcess[str]) -> str:
    return (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]


def mount(options: str, at: Path) -> None:
    """fuse-overlayfs with these options (lowerdir=…,upperdir=…,workdir=…) at `at`; it forks its
    daemon and returns once the mount is in place (its stdio then goes to /dev/null)."""
    done = _run([shutil.which("fuse-overlayfs") or "fuse-overlayfs", "-o", options, str(at)])
    if done.returncode != 0:
        hint = "; this process has no_new_privs set (as in bwrap or some containers), so the setuid " \
               "fusermount3 cannot mount" if _no_new_privs() else ""
        raise OSError(0, _why(done) + hint)


def _no_new_privs() -> bool:
    try:
        status = Path("/proc/self/status").read_text(encoding="utf-8")
    except OSError:
        return False
    return any(line.split() == ["NoNewPrivs:", "1"] for line in status.splitlines())


def unmount(at: Path) -> None:
    """`fusermount3 -u`; if something still holds the mount (busy), detach it lazily (-z) so that it
    goes as soon as the last user does: the sandbox's processes are all gone by then."""
    tool = shutil.which("fusermount3") or "fusermount3"
    done = _run([tool, "-u", str(at)])
    if done.returncode != 0 and mounted(at):
        lazy = _run([tool, "-u", "-z", str(at)])
        if lazy.returncode != 0 and mounted(at):
            raise OSError(0, f"fusermount3 -u -z {at}: {_why(lazy)}")


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as \\ooo octal escapes."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mount_points() -> set[str]:
    """Every mount point in this mount namespace, dead FUSE mounts included."""
    try:
        lines = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except OSError:
        return set()
    return {_unescape(line.split(" ")[4]) for line in lines if len(line.split(" ")) > 4}


def mounted(path: Path | str) -> bool:
    """A mount point (mountinfo names it by its real path; a link on the way is resolved)."""
    points = mount_points()
    return str(path) in points or os.path.realpath(path) in points
