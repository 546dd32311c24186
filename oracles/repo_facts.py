"""Oracles for repository facts that the L1 suites need beyond the generic code and config oracles."""
from __future__ import annotations
