"""Analytic models that simulation results are checked against."""
