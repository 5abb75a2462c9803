"""Hidden pytest graders, one module per assignment, run in the grader process against probe results."""
