"""Import a module from a file outside the ``ml`` package (the Lambda's and the scripts' own files).

Those files are not importable by package name: the Lambda's modules are top-level in its zip,
and ``scripts/`` is not a package. Loading them by path keeps one copy of each.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def load(name: str, path: Path) -> ModuleType:
    """Execute ``path`` as a fresh module called ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
