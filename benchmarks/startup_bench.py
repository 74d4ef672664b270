"""Start-up time of jcfix: the median wall time of repeated whole-process runs, against the 0.2 s target.

Each case starts a fresh interpreter (``python -m toolkit ...``, what the ``jcfix`` script runs), so
the number includes Python's own start-up, the imports and the command's work, as a user waits for it.
The target is on the wall-time median; the CPU column (user + system time of the child) and the load
average show how much of a miss is the machine being busy rather than jcfix::

    .venv/bin/python benchmarks/startup_bench.py            # table; exit 1 when a target is missed
    .venv/bin/python benchmarks/startup_bench.py --runs 31 --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

TARGET_S = 0.2
# (label, arguments, held to the target): a heavier command's own --help is shown for comparison only.
CASES: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("jcfix --help", ("--help",), True),
    ("jcfix templates", ("templates",), True),
    ("jcfix --version", ("--version",), False),
    ("jcfix diagnose --help", ("diagnose", "--help"), False),
)


@dataclass(frozen=True)
class Result:
    """One case over ``runs`` whole-process runs: wall median and spread, CPU median, target and verdict."""

    case: str
    runs: int
    median_s: float
    cpu_median_s: float
    min_s: float
    max_s: float
    target_s: float | None
    met: bool | None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_once(args: tuple[str, ...], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one ``python -m toolkit ARGS`` (output discarded); raises if jcfix fails."""
    cpu, start = _children_cpu(), time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "toolkit", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=True, timeout=120,
    )  # fmt: skip
    return time.perf_counter() - start, _children_cpu() - cpu


def measure(runs: int) -> list[Result]:
    """Every case, ``runs`` times each (interleaved, so a burst of load hits all cases alike)."""
    # No user configuration, no extra action folders: the same work on every machine.
    env = {k: v for k, v in os.environ.items() if not k.startswith("JCFIX_")}
    env.update(JCFIX_CONFIG=os.devnull, COLUMNS="80")
    for _label, args, _held in CASES:  # warm the bytecode cache and the page cache once
        time_once(args, env)
    walls: dict[str, list[float]] = {label: [] for label, _, _ in CASES}
    cpus: dict[str, list[float]] = {label: [] for label, _, _ in CASES}
    for _ in range(runs):
        for label, args, _held in CASES:
            wall, cpu = time_once(args, env)
            walls[label].append(wall)
            cpus[label].append(cpu)
    results = []
    for label, _args, held in CASES:
        median = statistics.median(walls[label])
        target = TARGET_S if held else None
        met = None if target is None else median < target
        cpu = statistics.median(cpus[label])
        results.append(Result(label, runs, median, cpu, min(walls[label]), max(walls[label]), target, met))
    return results


def table(results: list[Result]) -> str:
    """The results as an 80-column table."""
    lines = [f"{'case':<22}{'median':>9}{'cpu':>8}{'min':>8}{'max':>8}{'target':>8}  result"]
    for r in results:
        target = f"{r.target_s:.2f} s" if r.target_s is not None else "-"
        verdict = "-" if r.met is None else ("met" if r.met else "NOT MET")
        times = f"{r.median_s:>7.3f} s{r.cpu_median_s:>6.3f} s{r.min_s:>6.3f} s{r.max_s:>6.3f} s"
        lines.append(f"{r.case:<22}{times}{target:>8}  {verdict}")
    runs = results[0].runs if results else 0
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    lines.append(f"median of {runs} whole-process runs each (cpu: user+sys); load average {load}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the cases, print the table (or JSON); 1 when a held case misses the target."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="whole-process runs per case (default 15)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    options = parser.parse_args(argv)
    if options.runs < 1:
        parser.error("--runs must be at least 1")
    results = measure(options.runs)
    if options.json:
        document = {"target_s": TARGET_S, "load_average": os.getloadavg(), "results": [asdict(r) for r in results]}
        print(json.dumps(document, indent=2))
    else:
        print(table(results))
    return 1 if any(r.met is False for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
