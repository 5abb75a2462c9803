"""The class grading service (SPEC §8): an HTTP API over the warm workers, SQLite, and notebooks kept on disk."""
