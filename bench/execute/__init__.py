"""Execution: training units and evaluation cells in a pool of worker processes."""
