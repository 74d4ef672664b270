"""One measured client run against a running lab: the client in its own subprocess, sampled from /proc."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .lab import REPO, Lab
from .sampler import TreeSampler

CLIENT = Path(__file__).resolve().with_name("client.py")


def client_env() -> dict[str, str]:
    """The client's environment: no JCFIX_* of the caller's (no config, history, API key), lab credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JCFIX_")}
    env.update(JCFIX_CONFIG="/dev/null", PYTHONPATH=str(REPO))
    return env


def run(
    lab: Lab,
    variant: str,
    *,
    window: int = 0,
    bare_window: int = 32,
    extra: tuple[str, ...] = (),
    count_tcp: bool = False,
    timeout_s: float = 3600.0,
    workers: int | None = None,
) -> dict[str, Any]:
    """Run ``variant`` (bare, play, diagnose) against ``lab``; every metric of one row.

    ``window``: 0 jcfix's default (adaptive), N a fixed window of N, -N adaptive up to N (see client.py).
    ``workers``: JCFIX_WORKERS for the client (None: jcfix's default, one per core for large runs).
    """
    env = client_env()
    if workers is not None:
        env["JCFIX_WORKERS"] = str(workers)
    before = lab.stats()
    with tempfile.TemporaryDirectory(prefix=f"fleet-{variant}-") as tmp:
        work = Path(tmp)
        result, output = work / "result.json", work / "output.txt"
        command = [
            sys.executable, str(CLIENT), "--variant", variant, "--inventory", str(lab.inventory),
            "--workdir", str(work), "--result", str(result), "--window", str(window),
            "--bare-window", str(bare_window), "--", *extra,
        ]  # fmt: skip
        with open(output, "wb") as sink:
            process = subprocess.Popen(command, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT)
        sampler = TreeSampler(process.pid, count_tcp=count_tcp).start()
        deadline = time.monotonic() + timeout_s
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        sampler.stop()  # before the zombie is reaped: it was sampled alive until here
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.returncode != 0 or not result.exists():
            tail = output.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{variant} client exited with {process.returncode}:\n{tail}")
        outcome = json.loads(result.read_text(encoding="utf-8"))
        output_bytes = output.stat().st_size
    after = lab.stats()
    return row(lab, variant, window, bare_window, outcome, sampler, before, after, output_bytes)


def row(
    lab: Lab,
    variant: str,
    window: int,
    bare_window: int,
    outcome: dict[str, Any],
    sampler: TreeSampler,
    before: dict[str, Any],
    after: dict[str, Any],
    output_bytes: int,
) -> dict[str, Any]:
    """The measurements of one run, per host where that is how they compare."""
    hosts, wall, cpu = lab.hosts, outcome["wall_s"], outcome["cpu_s"]
    statuses: dict[str, int] = outcome.get("statuses", {})
    result: dict[str, Any] = {
        "variant": variant,
        "combo": lab.combo.name,
        "latency_ms": lab.latency_ms,
        "scenario": lab.scenario,
        "hosts": hosts,
        "window": bare_window if variant == "bare" else _window_label(window),
        "wall_s": round(wall, 3),
        "hosts_per_min": round(hosts / wall * 60, 1) if wall else 0.0,
        "cpu_s": round(cpu, 3),
        "cpu_ms_per_host": round(cpu * 1000 / hosts, 2),
        "cores_used": round(cpu / wall, 2) if wall else 0.0,
        "workers": max(0, sampler.peak_processes - 1),
        "requests_per_host": round((after["requests_served"] - before["requests_served"]) / hosts, 2),
        "protocol_minimum": lab.combo.protocol_minimum,
        "peak_rss_mb": round(sampler.peak_rss_kib / 1024, 1),
        "peak_pss_mb": round(sampler.peak_pss_kib / 1024, 1),
        "peak_fds": sampler.peak_fds,
        "machine_busy_cores": round(sampler.machine_busy_cores(), 2),
        "peak_tcp": sampler.peak_tcp if sampler.count_tcp else None,
        "samples": sampler.samples,
        "statuses": statuses,
        "accounted": sum(statuses.values()),
        "all_accounted": sum(statuses.values()) == hosts,
        "exit_code": outcome.get("exit_code"),
        "output_bytes": output_bytes,
    }
    if "cpu_s" in after and "cpu_s" in before:
        result["lab_cpu_ms_per_host"] = round((after["cpu_s"] - before["cpu_s"]) * 1000 / hosts, 2)
    return result


def _window_label(window: int) -> str:
    return "default" if window == 0 else f"fixed {window}" if window > 0 else f"adaptive<={-window}"
