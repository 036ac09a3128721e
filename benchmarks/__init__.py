"""Benchmarks: run as modules (``python -m benchmarks.metrics``); they print, they do not assert."""
