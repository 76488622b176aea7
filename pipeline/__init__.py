"""Orchestration: a report end to end (``report.py``), the analysis run (``run.py``), the
batch, the terminal questionnaire and the web app (``serve.py``, ``jobs.py``).

The only layer that calls both the models and the reports; ``cli.py`` sits above it.
"""
