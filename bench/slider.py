"""`python -m bench.slider`: runs `bench.cli.slider` as the main module."""
import runpy

runpy.run_module("bench.cli.slider", run_name="__main__", alter_sys=True)
