"""Import xgboost without its scikit-learn wrappers, for processes that only predict.

``import xgboost`` imports scikit-learn whenever it is installed (for ``XGBClassifier``),
which costs seconds at start-up. Batch scoring calls ``Booster.inplace_predict`` only, so
the scoring command hides scikit-learn while xgboost loads; scikit-learn itself stays
importable afterwards (the label metrics import it when the input has labels).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def import_xgboost_without_sklearn() -> ModuleType:
    if "xgboost" in sys.modules or "sklearn" in sys.modules:
        return importlib.import_module("xgboost")  # too late to matter: keep what is loaded
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # makes `import sklearn` raise ImportError
    try:
        return importlib.import_module("xgboost")
    finally:
        del sys.modules["sklearn"]
