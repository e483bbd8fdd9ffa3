"""The simulator: generated clouds and workloads, placement strategies side by side
(physnet-blind, Nova's semantics, pcinet's scheduler), an offline upper bound, metrics."""
