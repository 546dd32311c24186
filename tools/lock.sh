#!/usr/bin/env bash
# Re-lock the exact versions every install uses, from pyproject.toml's dependencies:
# requirements.txt (runtime) and requirements-dev.txt (runtime + tests). Needs `uv` (pip install uv).
# Exit codes: 0 locked; non-zero when uv is missing or cannot resolve.
set -euo pipefail
cd "$(dirname "$0")/.."
uv pip compile -q --python-version 3.10 --universal pyproject.toml -o requirements.txt
uv pip compile -q --python-version 3.10 --universal pyproject.toml --extra dev -o requirements-dev.txt
