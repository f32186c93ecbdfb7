"""Benchmarks: `make bench` runs them all and prints one BENCH line per figure and a table."""
