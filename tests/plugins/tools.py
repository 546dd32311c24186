"""A tool a user could add with `--tool tests.plugins.tools:LINE_COUNT`."""
from __future__ import annotations

from pydantic import Field

from evaluator.agent.tool_args import ToolArgs
from evaluator.agent.toolbox import Tool, Toolbox


class LineCountArgs(ToolArgs):
    path: str = Field(description="File path, relative to your working directory.")


async def line_count(box: Toolbox, args: LineCountArgs) -> str:
    """Count the lines of a text file inside your working copy."""
    text = await box.read_file(box.ARGS["read_file"](path=args.path))
    return str(len(text.splitlines())) if isinstance(text, str) else "error: not a text file"


LINE_COUNT = Tool(LineCountArgs, line_count)
