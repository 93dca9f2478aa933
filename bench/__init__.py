"""Benchmarks: `python -m bench` (see README.md here). Each prints ratios against a baseline
measured in the same run, and medians of repeated runs."""
