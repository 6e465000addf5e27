"""Customer churn with XGBoost: data, features, training, cost-aware evaluation, serving.

Kept import-free on purpose: the Lambda zip ships ``ml/__init__.py`` and
``ml/features/encoder.py`` / ``ml/data/raw_schema.py`` only, and imports them in a cold start.
"""

__version__ = "0.1.0"
