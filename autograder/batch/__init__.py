"""The batch stage: a class at a time — find the submissions, grade them on workers, keep a resumable ledger, export."""
from autograder.batch.ledger import GRADING_CODE, grading_stamp, read_ledger, write_ledger
from autograder.batch.run import BatchSummary, grade, write_exports
from autograder.batch.submissions import BatchError, Task, error_result, find_submissions
from autograder.batch.workers import grade_notebook

__all__ = ["BatchError", "BatchSummary", "GRADING_CODE", "Task", "error_result", "find_submissions", "grade",
           "grade_notebook", "grading_stamp", "read_ledger", "write_exports", "write_ledger"]
