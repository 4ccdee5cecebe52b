"""`python -m bench.gpu_check`: runs `bench.cli.gpu_check` as the main module."""
import runpy

runpy.run_module("bench.cli.gpu_check", run_name="__main__", alter_sys=True)
