"""`python -m bench.doctor`: runs `bench.cli.doctor` as the main module."""
import runpy

runpy.run_module("bench.cli.doctor", run_name="__main__", alter_sys=True)
