"""Base helpers: settings, clock, errors, database engine, CPR check, working days, labels.

Nothing here imports a first-party package (import-linter checks it).
"""
