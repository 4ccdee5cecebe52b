"""`python -m bench.memory_table`: runs `bench.cli.memory_table` as the main module."""
import runpy

runpy.run_module("bench.cli.memory_table", run_name="__main__", alter_sys=True)
