"""Stage 2, features: the feature schema and the encoders (vectorised for training, stdlib for the Lambda).

Import-free on purpose: the Lambda zip ships this file with ``encoder.py`` and imports it in a cold start.
"""
