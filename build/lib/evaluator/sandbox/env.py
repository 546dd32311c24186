"""The environment a sandboxed command gets: a short allow-list, never a secret.

Nothing is inherited from the evaluator's environment except PATH (local backend only),
so API keys in the evaluator's environment cannot leak into the model's commands.
"""
from __future__ import annotations

import os
import re

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Substrings that make a variable name look like it holds a secret (names are upper-cased first).
_SECRET_SUBSTRINGS = ("KEY", "TOKEN", "SECRET", "PASSW", "PGPASS", "PASSPHRASE", "CREDENTIAL", "PRIVATE", "COOKIE")
# Whole words (between _ - . or the ends) that do the same but are too short for substrings.
_SECRET_WORDS = frozenset({"PASS", "PWD", "AUTH", "CREDS", "SESSION", "BEARER", "SIGNATURE", "CERT", "DSN"})
_HARMLESS = frozenset({"PWD", "OLDPWD"})  # shell bookkeeping, not passwords
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def looks_secret(name: str) -> bool:
    """True when `name` looks like it holds a key, token, secret, password or credential."""
    upper = name.upper()
    if upper in _HARMLESS:
        return False
    if any(s in upper for s in _SECRET_SUBSTRINGS):
        return True
    return any(w in _SECRET_WORDS for w in re.split(r"[_.\-]+", upper))


def scrub(task_env: dict[str, str], *, home: str, tmp: str, path: str | None = None) -> dict[str, str]:
    """The whole environment of a sandboxed command.

    `path` is PATH as commands see it (default: the evaluator's PATH). The task's `env`
    is applied last, minus anything that looks secret or is not a valid variable name.
    """
    env = {
        "PATH": path or os.environ.get("PATH") or DEFAULT_PATH,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": home,
        "TERM": "dumb",
        "TMPDIR": tmp,
        # The working copy may belong to another uid than the command's; git must not refuse it.
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "safe.directory",
        "GIT_CONFIG_VALUE_0": "*",
    }
    for name, value in task_env.items():
        if _NAME_RE.match(name) and not looks_secret(name) and "\0" not in value:
            env[name] = value
    return env
