"""The submission stage: read and validate a notebook, pick the cells to run, infer its assignment."""
from autograder.submission.notebook import (MAX_NOTEBOOK_BYTES, SELF_CHECK_ID, Cell, Submission, SubmissionError,
                                            infer_assignment, load_submission, other_assignment)

__all__ = ["MAX_NOTEBOOK_BYTES", "SELF_CHECK_ID", "Cell", "Submission", "SubmissionError", "infer_assignment",
           "load_submission", "other_assignment"]
