"""Numbers only: the elicitation model, sampling, the decision and its value of information.

No sentences (the result carries codes; ``reports/wording.py`` says them), no files, no
rendering. Imports only :mod:`cruxfit.cruxes`. ``result.py`` declares the shape of what
these modules hand to the report layer.
"""
