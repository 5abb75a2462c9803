"""What runs inside the sandbox: copied in beside each other, they import nothing of the grader."""
