"""Import xgboost without its scikit-learn wrappers, for processes that only predict.

``import xgboost`` imports scikit-learn whenever it is installed (for ``XGBClassifier``),
which costs seconds at start-up. Batch scoring calls ``Booster.inplace_predict`` only, so
the scoring command hides scikit-learn while xgboost loads; scikit-learn itself stays
importable afterwards (the label metrics import it when the input has labels).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType


class _HideSklearn(MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.split(".")[0] == "sklearn":
            raise ImportError(f"{fullname} is hidden while xgboost loads")  # xgboost then skips its wrappers
        return None


def import_xgboost_without_sklearn() -> ModuleType:
    if "xgboost" in sys.modules or "sklearn" in sys.modules:
        return importlib.import_module("xgboost")  # too late to matter: keep what is loaded
    hide = _HideSklearn()
    sys.meta_path.insert(0, hide)
    try:
        return importlib.import_module("xgboost")
    finally:
        sys.meta_path.remove(hide)
