"""Reports: the exploration page of the raw data and the model report (plots, HTML)."""
