"""Benchmarks that print JSON (``pcinet bench ...``); results go in docs/benchmarks.md."""
