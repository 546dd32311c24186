"""AgentGym's hidden conftest for opencompass change tasks: lets the tests import
``opencompass.utils`` without torch.

Why: ``opencompass/utils/__init__.py`` star-imports ``collect_env``, which imports
``mmengine.utils.dl_utils``, and that package imports torch at import time. Torch
from PyPI is a multi-GB CUDA build, far beyond the two-minute environment budget,
and none of the tests used by these tasks calls ``collect_env``. So, before any
test module is imported, a module of that name is put into ``sys.modules`` whose
only function, ``collect_env``, raises. Nothing of opencompass itself is replaced:
the code under test runs as written, and a test that did need torch would fail
loudly instead of passing.

This file belongs to AgentGym. The tasks mark it ``visible``: the model's working
copy starts with it, so the repository's tests run there as they are graded; each
graded test run copies this version back in, over anything the model made of it.
"""

import sys
import types


def _collect_env_needs_torch():
    raise RuntimeError(
        "mmengine.utils.dl_utils.collect_env needs torch, which this "
        "environment does not have")


def _install_dl_utils_stub():
    name = "mmengine.utils.dl_utils"
    if name in sys.modules:
        return
    stub = types.ModuleType(name)
    stub.__doc__ = "AgentGym stand-in: the real module imports torch."
    stub.collect_env = _collect_env_needs_torch
    sys.modules[name] = stub


_install_dl_utils_stub()
