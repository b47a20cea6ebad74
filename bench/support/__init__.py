"""Helpers of the benchmarks in bench/: servers, load generator, dev store set-up, drain."""
