"""All wording and all rendering: the report's words, templates, figures, PDF/HTML/JSON.

Also writes files (atomically, ``files.py``). Imports :mod:`cruxfit.models` and
:mod:`cruxfit.cruxes`, never the pipeline or the command line.
"""
