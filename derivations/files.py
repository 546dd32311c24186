"""Second derivations (see derivations/__init__.py): files."""
from __future__ import annotations

from evaluator.scoring.oracle_api import second_derivation  # noqa: F401 - used by the derivations below
