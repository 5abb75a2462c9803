"""Helpers shared by the tests: scenario notebooks, a graded class, hostile scenarios, page checks."""
