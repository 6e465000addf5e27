"""Stage 4, serving offline: the SageMaker-contract model server and the local stack (API adapter + page)."""
