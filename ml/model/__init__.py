"""Stage 3, model: XGBoost training, cost-aware evaluation, the pipeline, the bundle, batch scoring."""
