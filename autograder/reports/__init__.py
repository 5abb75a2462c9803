"""Renderers: every report reads a Result (or its JSON), never the sandbox or the graders."""
