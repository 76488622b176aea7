"""Orchestration on top of the reports and models: the local web app (``cruxfit serve``)."""
