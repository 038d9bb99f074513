"""The checker and the grader: do the learner's dbt models really fix the incident? (LAB_SPEC §6)

`lab check` is the learner's loop on their running lab; `lab grade` judges a git ref, a directory or a
patch from a trusted copy of the base ref (`python -m checks grade ...`), so a learner's edits to this
package cannot change a verdict.
"""
