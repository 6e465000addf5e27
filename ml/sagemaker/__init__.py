"""The SageMaker backend: training jobs, tuning, batch transform, publish, endpoint evaluation.

Import-light on purpose: the heavy ``sagemaker`` SDK is imported only by the modules
that start jobs, so ``python -m ml`` and the local stack never pay for it.
"""
