"""The benchmark of the lab's quality bars (LAB_SPEC §7): `make bench` / `python -m bench`.

It measures a lab of its own (LAB_HOME=.lab-bench, ports offset by 40) run from a snapshot of the working
tree, so a learner's lab, the test labs and the files in dbt_project/ are never touched.
"""
