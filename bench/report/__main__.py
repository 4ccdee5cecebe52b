"""`python -m bench.report`: runs `bench.cli.report` as the main module."""
import runpy

runpy.run_module("bench.cli.report", run_name="__main__", alter_sys=True)
