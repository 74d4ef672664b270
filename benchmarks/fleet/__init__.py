"""The fleet benchmark's parts: the lab process, the client subprocesses, the process-tree sampler, the
sections that measure issue 14's targets, and the report. Entry point: ``benchmarks/fleet_bench.py``."""
