"""`python -m bench.compare`: runs `bench.cli.compare` as the main module."""
import runpy

runpy.run_module("bench.cli.compare", run_name="__main__", alter_sys=True)
