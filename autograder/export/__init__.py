"""Exports for platforms outside a JupyterHub: a Gradescope autograder zip, a Canvas gradebook import."""
