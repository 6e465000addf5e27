"""Stage 1, data: the raw 21-column contract, loading and validation, the synthetic stand-in, the split.

Import-free on purpose: the Lambda zip may ship modules of this package without pandas.
"""
