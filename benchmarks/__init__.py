"""Benchmarks: ``make bench`` (SQLite), ``make bench DB=postgres``, ``make bench-smoke``.

Every target is a ratio of two figures measured in the same run, so a slow or
busy machine moves both sides alike. See README.md, "Benchmarks".
"""
