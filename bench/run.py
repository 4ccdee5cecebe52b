"""`python -m bench.run`: runs `bench.cli.run` as the main module."""
import runpy

runpy.run_module("bench.cli.run", run_name="__main__", alter_sys=True)
