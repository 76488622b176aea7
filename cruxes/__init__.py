"""The crux library and the input formats it defines (the bottom layer).

The library's content as data (``*.yaml``: beliefs, statements, approaches, the seed page,
model settings, next steps) and its loader; profiles, form exports, the progress file and
the questionnaire's order; errors and safe reading. Imports nothing else of cruxfit's.
"""
