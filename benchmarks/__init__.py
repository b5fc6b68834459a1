"""Benchmarks: accuracy and speed of discover against pysindy on the same data, in one run."""
