"""benchmarks/fleet_bench.py end to end in its smallest mode: every section runs and every target is reported.

Not a benchmark: a few hosts, no latency, one combo; it checks the output's shape, never the numbers' size.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks" / "fleet_bench.py"

# Every target of issue 14, as the benchmark keys them.
TARGET_KEYS = {
    "cpu-play", "cpu-diagnose", "requests", "adaptive", "scale-wall", "scale-accounted", "scale-rss",
    "both-cores", "diagnose-rss", "fds-tcp", "fds-accounted", "startup",
}  # fmt: skip
RUN_KEYS = {
    "variant", "combo", "latency_ms", "hosts", "window", "wall_s", "hosts_per_min", "cpu_ms_per_host",
    "cores_used", "workers", "requests_per_host", "protocol_minimum", "peak_rss_mb", "peak_fds", "statuses",
    "accounted", "all_accounted", "machine_busy_cores",
}  # fmt: skip
SMALLEST = (
    "--quick", "--hosts", "6", "--latencies", "0", "--combos", "basic-http", "--adaptive-combo", "basic-http",
    "--adaptive-hosts", "6", "--windows", "2", "--window", "4", "--scale", "12", "--rss-sizes", "6,12",
    "--fds-hosts", "14", "--fds-window", "4", "--fds-deadline", "2", "--startup-repeats", "1",
    "--base-address", "127.0.241.1",
)  # fmt: skip


def bench(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """The benchmark in a subprocess (a generous timeout: it is there for hangs)."""
    return subprocess.run(
        [sys.executable, str(BENCH), *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.slow
def test_smallest_run_reports_every_target(tmp_path: Path) -> None:
    report = tmp_path / "fleet.json"
    done = bench(*SMALLEST, "--json", str(report))
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(report.read_text())
    assert {"date", "machine", "plan", "runs", "targets"} <= set(document)
    assert {t["key"] for t in document["targets"]} == TARGET_KEYS
    for row in document["targets"]:
        assert row["met"] in (True, False, None)
        assert row["target"] in done.stdout  # printed in the targets table too
    runs = document["runs"]
    assert {r["variant"] for r in runs} == {"bare", "play", "diagnose"}
    for run in runs:
        assert set(run) >= RUN_KEYS
        assert run["all_accounted"] and run["accounted"] == run["hosts"]
        # Counted on the lab side: at least the protocol's minimum per host reached the lab.
        assert run["requests_per_host"] >= run["protocol_minimum"] or run["scenario"] == "faults"
        assert run["peak_rss_mb"] > 0 and run["peak_fds"] > 0 and run["wall_s"] > 0
    bare = next(r for r in runs if r["variant"] == "bare")
    assert bare["statuses"] == {"ok": 6}
    faults = next(r for r in runs if r["scenario"] == "faults")
    assert faults["peak_tcp"] is not None
    # Not judged at this size: the headline target needs 10,000 hosts at 200 ms.
    assert next(t for t in document["targets"] if t["key"] == "scale-wall")["met"] is None


def test_busy_cores_are_per_interval_and_skip_intervals_without_ticks() -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from fleet.sampler import busy_cores

    marks = [(0, 0), (50, 100), (150, 200), (150, 200), (160, 300)]
    assert busy_cores(marks, 2) == [1.0, 2.0, 0.2]


def test_bad_option_is_refused_before_anything_starts() -> None:
    done = bench("--only", "nonsense", timeout=60)
    assert done.returncode == 2
    assert "choose from" in done.stderr and done.stdout == ""
