"""`python -m checks check|grade …` — how the grader runs the checker from a trusted copy."""

from checks.cli import main

main()
