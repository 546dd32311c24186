"""Remove temporary host folders that a killed run (kill -9, OOM, power loss) left behind.

The bwrap backend stages a private /etc in `$TMPDIR/agentgym-etc-<pid>-<random>`; its owner
removes it on a normal exit, but a killed process cannot. The next run sweeps those whose
owner PID is no longer alive. Folders of live processes and folders without a PID in the
name (which cannot be attributed) are left alone.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

ETC_PREFIX = "agentgym-etc-"
_OWNED = re.compile(rf"^{re.escape(ETC_PREFIX)}(\d+)-")


def etc_prefix() -> str:
    """The mkdtemp prefix for this process's staged /etc (carries our PID for the sweep)."""
    return f"{ETC_PREFIX}{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def sweep_stale_tmp(tmp: Path | None = None) -> list[Path]:
    """Delete stale staged-/etc folders; returns what was removed."""
    root = tmp or Path(tempfile.gettempdir())
    removed = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _OWNED.match(entry.name)
        if not m or int(m.group(1)) == os.getpid() or _alive(int(m.group(1))):
            continue
        if entry.is_dir() and not entry.is_symlink() and entry.stat().st_uid == os.getuid():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed
