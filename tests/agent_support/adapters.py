"""Adapters only the tests use, loaded by dotted path (`--agent agent_support.adapters:RedTeam`),
as a user's own adapter would be."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import ClassVar

from evaluator.coding_agents.base import Launch, LaunchContext, Package, Wire

HERE = Path(__file__).resolve().parent


class RedTeam:
    """A stdlib agent script that tries to get out; `installed` by copying it (no registry)."""

    name: ClassVar[str] = "redteam"
    package: ClassVar[Package] = Package(source="pypi", name="agentgym-redteam-fixture", version="1")
    wire: ClassVar[Wire] = "chat"
    requirement: ClassVar[str | None] = None
    min_memory_mb: ClassVar[int] = 0

    def check_installed(self, install_dir: Path) -> str | None:
        return None if (install_dir / "redteam_agent.py").is_file() else "redteam_agent.py is missing"

    def launch(self, ctx: LaunchContext) -> Launch:
        env = {"OPENAI_BASE_URL": ctx.base_url, "OPENAI_API_KEY": ctx.api_key,
               "REDTEAM_INSTALL": str(ctx.install_dir), "REDTEAM_BRIDGE": str(Path(ctx.prompt_file).parent)}
        for name in ("REDTEAM_PORT", "REDTEAM_MODEL", "REDTEAM_MODE"):
            if name in os.environ:
                env[name] = os.environ[name]
        return Launch(argv=["python3", str(ctx.install_dir / "redteam_agent.py"), ctx.prompt_file], env=env)


def preinstall(install_dir: Path) -> None:
    """What the registry install would do for a real package: put the agent in its cache folder."""
    install_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "redteam_agent.py", install_dir / "redteam_agent.py")
    os.chmod(install_dir, 0o755)
    (install_dir / ".agentgym-installed").write_text("fixture\n")
