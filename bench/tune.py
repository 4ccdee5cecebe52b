"""`python -m bench.tune`: runs `bench.cli.tune` as the main module."""
import runpy

runpy.run_module("bench.cli.tune", run_name="__main__", alter_sys=True)
