"""The template registry: the easy tier (original AgentGym L1 kinds) and the parametric tier.

To add a template, write a `Template` subclass (see base.py) and append an instance below.
"""
from __future__ import annotations

from evaluator.generate.templates.base import Context, Template
from evaluator.generate.templates.code import ArgparseDefaults, DataclassDefaults, FunctionDefaults, RegisteredClasses
from evaluator.generate.templates.crossfile import CROSS_FILE
from evaluator.generate.templates.config import PytestParamCount, PythonConfigValue, TomlValue, YamlValue
from evaluator.generate.templates.easy import EASY
from evaluator.generate.templates.graph import ImportUsers, Subclasses
from evaluator.generate.templates.images import ImageSize

PARAMETRIC: list[Template] = [FunctionDefaults(), RegisteredClasses(), ArgparseDefaults(), DataclassDefaults(),
                              ImportUsers(), Subclasses(), YamlValue(), TomlValue(), PythonConfigValue(), PytestParamCount(),
                              ImageSize(), *CROSS_FILE]
ALL: dict[str, Template] = {t.name: t for t in EASY + PARAMETRIC}
EASY_NAMES: list[str] = [t.name for t in EASY]

__all__ = ["ALL", "EASY_NAMES", "PARAMETRIC", "Context", "Template"]
