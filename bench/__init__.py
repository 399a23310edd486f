"""Benchmarks: print figures, never pass or fail on time."""
