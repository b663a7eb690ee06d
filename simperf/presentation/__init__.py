"""Presentation: HTML tables for notebooks and the self-contained HTML report.

Presentation reads results; it never runs a simulation.
"""
