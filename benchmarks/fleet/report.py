"""What the benchmark prints: an estimate up front, one row per run as it ends, the targets at the end."""

from __future__ import annotations

import os
import platform
from typing import Any

from .lab import COMBOS
from .sections import Plan, Target

# Rough costs for the estimate (2 cores, measured by the lead before issue 14): client + lab CPU per host.
CPU_S_PER_HOST = {"basic": 0.025, "ntlm": 0.06}
DEFAULT_WINDOW_GUESS = 128  # the adaptive window is unknown beforehand


def _run_s(hosts: int, latency_ms: int, auth: str, window: int, requests: int) -> float:
    cpu_bound = hosts * CPU_S_PER_HOST[auth] / 2
    latency_bound = hosts / window * requests * (latency_ms / 1000 + 0.004)
    return max(cpu_bound, latency_bound) + 3.0  # + process start and imports


def _lab_s(hosts: int) -> float:
    return 2.0 + hosts * 0.004


def estimate_s(plan: Plan) -> float:
    """A rough estimate of the whole run, in seconds (printed up front; the machine's load changes it)."""
    total = 0.0
    if "compare" in plan.only:
        for key in plan.combos:
            combo = COMBOS[key]
            for latency in plan.latencies:
                total += _lab_s(plan.hosts)
                total += 3 * _run_s(plan.hosts, latency, combo.auth, plan.bare_window, combo.protocol_minimum + 1)
    adaptive_combo = COMBOS[plan.adaptive_combo]
    requests = adaptive_combo.protocol_minimum + 1
    if "adaptive" in plan.only:
        for latency in plan.latencies:
            total += _lab_s(plan.adaptive_hosts)
            for window in [*plan.windows, DEFAULT_WINDOW_GUESS]:
                total += _run_s(plan.adaptive_hosts, latency, adaptive_combo.auth, window, requests)
    if "cores" in plan.only:
        total += 2 * _run_s(plan.adaptive_hosts, 20, adaptive_combo.auth, DEFAULT_WINDOW_GUESS, requests)
    if "scale" in plan.only:
        total += _lab_s(plan.scale) + _run_s(plan.scale, plan.scale_latency, "ntlm", DEFAULT_WINDOW_GUESS, requests)
    if "diagnose-rss" in plan.only:
        for hosts in plan.rss_sizes:
            total += _lab_s(hosts) + _run_s(hosts, plan.scale_latency, "ntlm", DEFAULT_WINDOW_GUESS, requests)
    if "fds" in plan.only:
        total += _lab_s(plan.fds_hosts) + plan.fds_hosts / plan.fds_window * 2 + 12
    if "startup" in plan.only:
        total += plan.startup_repeats * 2 * 0.5
    return total


def machine() -> dict[str, Any]:
    """Where this ran: CPUs, OS, Python."""
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}


def run_header(lab_column: bool) -> str:
    """The column names of :func:`run_line` (``lab ms/h`` only when the lab reports its CPU)."""
    lab = f" {'lab ms/h':>8}" if lab_column else ""
    return (
        f"{'variant':<8} {'combo':<10} {'ms':>4} {'hosts':>6} {'window':<13} {'wall s':>7} {'hosts/min':>9} "
        f"{'CPU ms/h':>8} {'cores':>5} {'wkrs':>4} {'req/h':>5} {'min':>3} {'RSS MB':>6} {'fds':>5}{lab}  accounted"
    )


def run_line(run: dict[str, Any], lab_column: bool) -> str:
    """One run as one line under :func:`run_header`."""
    lab = f" {run.get('lab_cpu_ms_per_host', float('nan')):8.1f}" if lab_column else ""
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(run["statuses"].items()))
    accounted = f"{'all' if run['all_accounted'] else 'ONLY'} {run['accounted']} ({statuses})"
    return (
        f"{run['variant']:<8} {run['combo']:<10} {run['latency_ms']:>4} {run['hosts']:>6} {run['window']!s:<13} "
        f"{run['wall_s']:>7.1f} {run['hosts_per_min']:>9.0f} {run['cpu_ms_per_host']:>8.1f} {run['cores_used']:>5.2f} "
        f"{run['workers']:>4} {run['requests_per_host']:>5.2f} {run['protocol_minimum']:>3} {run['peak_rss_mb']:>6.0f} "
        f"{run['peak_fds']:>5}{lab}  {accounted}"
    )


def targets_table(targets: list[Target]) -> str:
    """Every target: what it is, what was measured, the ratio, the limit, and met / NOT met / not judged."""
    lines = ["| target | measured | ratio | limit | met |", "|---|---|---:|---|---|"]
    for t in targets:
        met = "not judged" if t["met"] is None else "met" if t["met"] else "NOT met"
        ratio = "" if t["ratio"] is None else f"{t['ratio']:.2f}"
        note = f" ({t['note']})" if t["note"] else ""
        lines.append(f"| {t['target']} | {t['measured']} | {ratio} | {t['limit']} | {met}{note} |")
    return "\n".join(lines)
