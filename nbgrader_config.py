"""nbgrader configuration: the repository root is the course directory."""
c = get_config()  # noqa: F821  (injected by nbgrader)

c.CourseDirectory.course_id = "transformer-attention"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

c.ClearSolutions.code_stub = {"python": "# 在这里作答 / YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "在这里作答 / YOUR ANSWER HERE"

# `nbgrader autograde` grades through the sandboxed engine (autograder/nbgrader_plugin.py) instead of running
# the notebook in a Jupyter kernel; the rest of nbgrader's autograde pipeline (nbgrader 0.9) is kept as is.
# The autograded notebooks (so `nbgrader generate_feedback` too) keep no hidden tests: the engine's graders
# replace them.
c.Autograde.autograde_preprocessors = [
    "autograder.nbgrader_plugin.GradeInSandbox",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.GradeInSandbox.lang = "en"  # or "zh": the language of the feedback written into the autograded notebooks
