"""The benchmark of the lab's quality bars (LAB_SPEC §7): `make bench` / `python -m bench`.

It measures labs of its own — native on instance 94 (.lab-bench-native), docker on instance 95
(.lab-bench-docker), `lab fleet` on instances 96–99 (.lab-bench-fleet-k) — each run from a snapshot of the
working tree, so a learner's lab, the test labs and the files in dbt_project/ are never touched.
"""
