"""`python -m bench.resume_check`: runs `bench.cli.resume_check` as the main module."""
import runpy

runpy.run_module("bench.cli.resume_check", run_name="__main__", alter_sys=True)
