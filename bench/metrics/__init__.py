"""Metrics: every indicator once, with its direction and bounds, and the statistics over seeds."""
