"""`python -m bench.calibrate`: runs `bench.cli.calibrate` as the main module."""
import runpy

runpy.run_module("bench.cli.calibrate", run_name="__main__", alter_sys=True)
