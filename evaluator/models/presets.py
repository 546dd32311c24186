"""Model presets (models/presets.yaml, plus a user file): defaults for a run and prices for
the leaderboard. One format serves both; `--prices FILE` of compare reads it too."""
from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

BUILTIN_PRESETS = Path(__file__).with_name("presets.yaml")
USER_ENV = "AGENTGYM_MODEL_PRESETS"


class PresetError(Exception):
    """A presets file is missing or invalid; one sentence."""


class Preset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    context_window: int | None = Field(None, gt=0)
    vision: bool | None = None
    tool_format: Literal["native", "text"] | None = None
    api: Literal["chat", "responses"] | None = None
    input: float | None = Field(None, ge=0, description="USD per 1M prompt tokens")
    output: float | None = Field(None, ge=0, description="USD per 1M completion tokens")


class PresetTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: dict[str, Preset] = Field(default_factory=dict)

    def lookup(self, model: str) -> tuple[str, Preset] | None:
        """(key, preset): the exact model id first, then glob patterns in file order."""
        if model in self.models:
            return model, self.models[model]
        for pattern, preset in self.models.items():
            if any(ch in pattern for ch in "*?[") and fnmatch.fnmatchcase(model, pattern):
                return pattern, preset
        return None

    def merged(self, other: PresetTable) -> PresetTable:
        """`other` over this table, field by field; new entries appended."""
        out = dict(self.models)
        for key, preset in other.models.items():
            base = out.get(key, Preset())
            out[key] = base.model_copy(update=preset.model_dump(exclude_unset=True))
        return PresetTable(models=out)


def read_presets(path: Path) -> PresetTable:
    if not path.is_file():
        raise PresetError(f"presets file {path} does not exist")
    try:
        return PresetTable.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PresetError(f"presets file {path} is not readable YAML ({str(exc).splitlines()[0]})") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise PresetError(f"presets file {path} is invalid at {where}: {err['msg']}") from None


def load_presets(user: Path | None = None) -> PresetTable:
    """The built-in presets, overridden by `user` (or $AGENTGYM_MODEL_PRESETS when set)."""
    table = read_presets(BUILTIN_PRESETS)
    user = user or (Path(os.environ[USER_ENV]) if os.environ.get(USER_ENV) else None)
    return table.merged(read_presets(user)) if user else table
