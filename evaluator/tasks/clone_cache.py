"""Clone cache and per-task working copies.

Each repo is cloned once (bare) into the cache and reused across runs. Oracles read one
pristine checkout per commit; each task gets its own working copy, a `git clone --shared`
of the cached clone at exactly the pinned commit, so nothing one task writes is visible
to another. Cache entries are built in a temp dir and renamed into place under a file
lock, so concurrent runs or a kill -9 mid-clone cannot leave a half-made entry.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import git

from evaluator.results.atomic import file_lock
from evaluator.config.errors import ConfigError
from evaluator.tasks.specs import RepoSpec

SHA_RE = re.compile(r"^[0-9a-f]{40}$")


def default_cache_dir() -> Path:
    env = os.environ.get("AGENTGYM_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "agentgym"


def _git_env() -> dict[str, str]:
    # Never prompt for credentials: a private repo without access must fail, not hang.
    return {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}


def _short(text: str) -> str:
    """git's own reason: its `fatal:` line, not the last line of GitPython's quoted stderr (a lone `'`)."""
    lines = [ln.strip().strip("'").strip() for ln in (text or "").splitlines()]
    lines = [ln.removeprefix("stderr:").strip().strip("'").strip() for ln in lines]
    # git's own reasons: `fatal:` lines, and ssh's line before them (e.g. an unknown host).
    reasons = [ln for ln in lines if ln.startswith(("ssh:", "error:", "ERROR:")) or "fatal:" in ln]
    if reasons:
        return "; ".join(ln[ln.index("fatal:"):] if "fatal:" in ln else ln for ln in reasons[:3])[:300]
    useful = [ln for ln in lines if any(c.isalnum() for c in ln)]
    return useful[-1][:300] if useful else "git failed"


class RepoCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def mirror(self, repo: RepoSpec) -> Path:
        """The cached bare clone of `repo.url`, fetched again only if the pinned commit is missing."""
        key = hashlib.sha256(repo.url.encode()).hexdigest()[:12]
        dest = self.root / "repos" / f"{repo.id}-{key}.git"
        with file_lock(self.root / "locks" / f"{dest.name}.lock"):
            if not dest.exists():
                self._clone(repo, dest)
            elif SHA_RE.match(repo.ref) and not self._has_commit(dest, repo.ref):
                self._fetch(repo, dest)
        return dest

    def _clone(self, repo: RepoSpec, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".clone-", dir=dest.parent))
        try:
            git.Repo.clone_from(repo.url, tmp / "r.git", bare=True, env=_git_env())
            os.replace(tmp / "r.git", dest)
        except git.GitCommandError as exc:
            raise ConfigError(f"repo {repo.id!r}: cannot clone {repo.url}: {_short(exc.stderr)}") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _fetch(self, repo: RepoSpec, dest: Path) -> None:
        try:
            git.Repo(dest).git.fetch(repo.url, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", env=_git_env())
        except git.GitCommandError as exc:
            raise ConfigError(f"repo {repo.id!r}: cannot fetch {repo.url}: {_short(exc.stderr)}") from None

    @staticmethod
    def _has_commit(mirror: Path, sha: str) -> bool:
        try:
            git.Repo(mirror).git.cat_file("-e", f"{sha}^{{commit}}")
            return True
        except git.GitCommandError:
            return False

    def resolve(self, repo: RepoSpec, mirror: Path) -> str:
        """The commit `repo.ref` names; a sha must exist exactly, a branch or tag is resolved once."""
        try:
            return git.Repo(mirror).git.rev_parse("--verify", "--quiet", f"{repo.ref}^{{commit}}").strip()
        except git.GitCommandError:
            raise ConfigError(f"repo {repo.id!r}: ref {repo.ref!r} does not exist in {repo.url}") from None

    def _checkout_once(self, name: str, mirror: Path, commit: str) -> Path:
        """checkouts/<name> at `commit`, built in a temp dir and renamed into place under a lock."""
        dest = self.root / "checkouts" / name
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".co-", dir=dest.parent))
            try:
                checkout(mirror, commit, tmp / "r")
                os.chmod(tmp / "r", 0o755)  # sandbox uids must be able to enter it
                os.replace(tmp / "r", dest)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return dest

    def pristine(self, repo: RepoSpec, mirror: Path, commit: str) -> Path:
        """A read-only-by-convention checkout at `commit`, shared by all oracles and runs."""
        with file_lock(self.root / "locks" / f"{repo.id}-{commit}.lock"):
            return self._checkout_once(f"{repo.id}-{commit}", mirror, commit)

    def shared_base(self, repo_id: str, mirror: Path, commit: str, artifacts_rel: str) -> Path:
        """One checkout per commit that sandboxes mount read-only, with an empty mount point at
        `artifacts_rel` for each task's own writable eval_artifacts/. Kept apart from the pristine
        checkout so the mount points never show up in what oracles see."""
        with file_lock(self.root / "locks" / f"{repo_id}-{commit}-base.lock"):
            dest = self._checkout_once(f"{repo_id}-{commit}-base", mirror, commit)
            (dest / artifacts_rel).mkdir(parents=True, exist_ok=True)
        return dest


def checkout(mirror: Path, commit: str, dest: Path) -> None:
    """A working copy of `commit` at `dest`, sharing objects with `mirror` (cheap, isolated)."""
    r = git.Repo.clone_from(str(mirror), dest, shared=True, no_checkout=True, env=_git_env())
    r.git.checkout("-q", "--detach", commit)
    r.close()
