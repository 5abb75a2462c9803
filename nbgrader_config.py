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
