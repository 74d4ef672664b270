"""The benchmark's sections: each runs its clients against labs and returns issue 14's target rows it measures."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import measure
from .lab import COMBOS, Combo, Labs

Target = dict[str, Any]
Runs = list[dict[str, Any]]
SECTIONS = ("compare", "adaptive", "cores", "scale", "diagnose-rss", "fds", "startup")
TARGET_SCALE = 10_000  # hosts the headline target is about
RSS_SMALL, RSS_LARGE = 1_000, 10_000  # the diagnose sizes


@dataclass
class Plan:
    """What to run: sizes, latencies, combos and windows (see fleet_bench.py's options)."""

    hosts: int = 500
    latencies: list[int] = field(default_factory=lambda: [20, 200])
    combos: list[str] = field(default_factory=lambda: list(COMBOS))
    bare_window: int = 32
    adaptive_combo: str = "ntlm-https"
    adaptive_hosts: int = 1000
    windows: list[int] = field(default_factory=lambda: [16, 32, 64, 128, 256, 512])
    scale: int = TARGET_SCALE
    rss_sizes: tuple[int, int] = (RSS_SMALL, RSS_LARGE)
    fds_hosts: int = 140
    fds_window: int = 8
    fds_deadline: int = 10
    startup_repeats: int = 10
    only: tuple[str, ...] = SECTIONS

    @property
    def scale_latency(self) -> int:
        return max(self.latencies)


def target(
    key: str, name: str, measured: str, limit: str, met: bool | None, ratio: float | None = None, note: str = ""
) -> Target:
    """One target row (``key``: which of issue 14's targets); ``met`` None when this run could not judge it."""
    return {"key": key, "target": name, "measured": measured, "ratio": ratio, "limit": limit, "met": met, "note": note}


class Bench:
    """The labs, every run so far, and where each run's row is printed."""

    def __init__(self, labs: Labs, plan: Plan, show: Callable[[dict[str, Any]], None]) -> None:
        self.labs, self.plan, self.show = labs, plan, show
        self.runs: Runs = []

    def run(
        self, combo: Combo, hosts: int, latency: int, variant: str, scenario: str = "random", **kw: Any
    ) -> dict[str, Any]:
        """Run ``variant`` against a lab of this shape (started or reused), print its row and keep it."""
        lab = self.labs.get(combo, hosts, latency, scenario)
        result = measure.run(lab, variant, bare_window=self.plan.bare_window, **kw)
        self.runs.append(result)
        self.show(result)
        return result


def compare(bench: Bench) -> list[Target]:
    """bare, play and diagnose side by side per combo and latency, the same fixed window for all three."""
    plan, targets = bench.plan, []
    for latency in plan.latencies:
        for key in plan.combos:
            combo = COMBOS[key]
            rows = {
                v: bench.run(combo, plan.hosts, latency, v, window=plan.bare_window)
                for v in ("bare", "play", "diagnose")
            }
            bare = rows["bare"]
            for variant in ("play", "diagnose"):
                ratio = rows[variant]["cpu_ms_per_host"] / bare["cpu_ms_per_host"]
                targets.append(
                    target(
                        f"cpu-{variant}",
                        f"CPU/host {variant} vs bare, {combo.name} {latency} ms",
                        f"{rows[variant]['cpu_ms_per_host']:.1f} vs {bare['cpu_ms_per_host']:.1f} ms",
                        "<= 1.1x",
                        ratio <= 1.1,
                        round(ratio, 2),
                    )
                )
            play = rows["play"]
            targets.append(
                target(
                    "requests",
                    f"requests/host play vs bare, {combo.name} {latency} ms",
                    f"{play['requests_per_host']:.2f} vs {bare['requests_per_host']:.2f}"
                    f" (min {combo.protocol_minimum})",
                    "<= bare",
                    play["requests_per_host"] <= bare["requests_per_host"] + 0.01,
                    round(play["requests_per_host"] / combo.protocol_minimum, 2),
                    "ratio: play / protocol minimum",
                )
            )
    return targets


def adaptive(bench: Bench) -> list[Target]:
    """play with fixed windows against the default (adaptive) window, per latency."""
    plan, combo, targets = bench.plan, COMBOS[bench.plan.adaptive_combo], []
    for latency in plan.latencies:
        fixed = [bench.run(combo, plan.adaptive_hosts, latency, "play", window=w) for w in plan.windows]
        default = bench.run(combo, plan.adaptive_hosts, latency, "play", window=0)
        best = max(fixed, key=lambda r: r["hosts_per_min"])
        ratio = default["hosts_per_min"] / best["hosts_per_min"]
        targets.append(
            target(
                "adaptive",
                f"default window vs best fixed, {combo.name} {latency} ms",
                f"{default['hosts_per_min']:.0f} vs {best['hosts_per_min']:.0f} hosts/min ({best['window']})",
                ">= 0.9x",
                ratio >= 0.9,
                round(ratio, 2),
                f"{plan.adaptive_hosts} hosts",
            )
        )
    return targets


def scale(bench: Bench) -> list[Target]:
    """The headline: ``plan.scale`` hosts, NTLM/HTTPS, the highest latency, default options."""
    plan, combo = bench.plan, COMBOS[bench.plan.adaptive_combo]
    big = bench.run(combo, plan.scale, plan.scale_latency, "play", window=0)
    judged = plan.scale >= TARGET_SCALE and plan.scale_latency >= 200 and combo.auth == "ntlm" and combo.tls
    note = "" if judged else "the target is 10,000 hosts, NTLM/HTTPS, 200 ms"
    where = f"{plan.scale} hosts {combo.name} {plan.scale_latency} ms"
    return [
        target(
            "scale-wall",
            f"wall time, {where}",
            f"{big['wall_s']:.0f} s",
            "< 300 s",
            big["wall_s"] < 300 if judged else None,
            round(big["wall_s"] / 300, 2),
            note,
        ),
        target(
            "scale-accounted",
            f"every host accounted, {where}",
            f"{big['accounted']} of {big['hosts']} {_statuses(big)}",
            "all",
            big["all_accounted"],
        ),
        target(
            "scale-rss",
            f"peak RSS summed over the process tree (Pss in brackets), {where}",
            f"{big['peak_rss_mb']:.0f} MB ({big.get('peak_pss_mb', 0):.0f})",
            "< 300 MB",
            big["peak_rss_mb"] < 300 if judged else None,
            round(big["peak_rss_mb"] / 300, 2),
            note,
        ),
    ]


def both_cores(bench: Bench) -> list[Target]:
    """At the CPU ceiling (20 ms, the default window), one worker process against jcfix's default of one per
    core: whether both cores are busy, and whether hosts/min scale with them.

    Busy is the machine's (every process, the lab's too) median over each second of the run: CPU time over
    the whole wall time would be diluted by the run's start and end. The lab shares the machine: the client
    can have at most its share of the cores (its CPU per host over client plus lab CPU per host), so
    scaling is judged only where that share exceeds 1.5 cores.
    """
    plan = bench.plan
    combo = COMBOS[plan.adaptive_combo]
    one = bench.run(combo, plan.adaptive_hosts, 20, "play", window=0, workers=1)
    many = bench.run(combo, plan.adaptive_hosts, 20, "play", window=0)
    cpus = os.cpu_count() or 1
    busy, busy_one = many.get("machine_busy_cores", 0.0), one.get("machine_busy_cores", 0.0)
    lab_ms = many.get("lab_cpu_ms_per_host", 0.0)
    share = cpus * many["cpu_ms_per_host"] / (many["cpu_ms_per_host"] + lab_ms) if many["cpu_ms_per_host"] else 0.0
    gain = many["hosts_per_min"] / one["hosts_per_min"] if one["hosts_per_min"] else 0.0
    name = f"play, {many['hosts']} hosts {combo.name} 20 ms, default window"
    return [
        target(
            "both-cores",
            f"both cores busy: {name}",
            f"{many['workers']} workers; machine {busy:.2f} of {cpus} cores busy (client {many['cores_used']:.2f},"
            f" lab {lab_ms * many['hosts'] / 1000 / many['wall_s']:.2f} over the whole run)",
            f">= 2 workers, >= {0.85 * cpus:.1f} cores busy",
            many["workers"] >= 2 and busy >= 0.85 * cpus,
            round(busy / cpus, 2),
            "ratio: busy cores / cores (median of each second)",
        ),
        target(
            "both-cores",
            f"hosts/min scale with cores: {name}",
            f"{many['hosts_per_min']:.0f} vs {one['hosts_per_min']:.0f} hosts/min with 1 process (machine"
            f" {busy_one:.2f} busy); the client's share of {cpus} cores beside the lab: {share:.2f}",
            ">= 1.5x",
            gain >= 1.5 if share > 1.5 else None,
            round(gain, 2),
            "" if share > 1.5 else "not measurable here: the lab takes the rest of the cores",
        ),
    ]


def diagnose_rss(bench: Bench) -> list[Target]:
    """``jcfix diagnose`` peak RSS at two fleet sizes: flat within 20%."""
    plan, combo = bench.plan, COMBOS[bench.plan.adaptive_combo]
    # The large fleet first: right after `scale`, its lab (same shape) is still up.
    large, small = (
        bench.run(combo, n, plan.scale_latency, "diagnose", window=0) for n in sorted(plan.rss_sizes, reverse=True)
    )
    ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    judged = (small["hosts"], large["hosts"]) == (RSS_SMALL, RSS_LARGE)
    return [
        target(
            "diagnose-rss",
            f"diagnose RSS {large['hosts']} vs {small['hosts']} hosts",
            f"{large['peak_rss_mb']:.0f} vs {small['peak_rss_mb']:.0f} MB"
            f" (Pss {large.get('peak_pss_mb', 0):.0f} vs {small.get('peak_pss_mb', 0):.0f})",
            "<= 1.2x",
            ratio <= 1.2 if judged else None,
            round(ratio, 2),
            "" if judged else "the target compares 1,000 and 10,000 hosts",
        )
    ]


def fds(bench: Bench) -> list[Target]:
    """A faults fleet with a fixed window: the client's TCP sockets stay bounded by the window."""
    plan = bench.plan
    extra = ("--deadline", str(plan.fds_deadline), "--retries", "0")  # the hanging host ends at the deadline
    run = bench.run(
        COMBOS["basic-http"],
        plan.fds_hosts,
        0,
        "play",
        scenario="faults",
        window=plan.fds_window,
        extra=extra,
        count_tcp=True,
    )
    return [
        target(
            "fds-tcp",
            f"TCP sockets bounded by the window (faults fleet, {plan.fds_hosts} hosts, --forks {plan.fds_window})",
            f"peak {run['peak_tcp']} sockets, {run['peak_fds']} fds",
            f"<= {plan.fds_window}",
            run["peak_tcp"] <= plan.fds_window,
            round(run["peak_tcp"] / plan.fds_window, 2),
        ),
        target(
            "fds-accounted",
            "every host accounted, faults fleet",
            f"{run['accounted']} of {run['hosts']} {_statuses(run)}",
            "all",
            run["all_accounted"],
        ),
    ]


def _statuses(run: dict[str, Any]) -> str:
    return "(" + ", ".join(f"{k} {v}" for k, v in sorted(run["statuses"].items())) + ")"


def startup(bench: Bench) -> list[Target]:
    """Start-up medians from benchmarks/startup_bench.py (whole-process runs), each case held to its target."""
    try:
        from startup_bench import measure as measure_startup
    except ImportError:  # the hook: that module's measure(runs) -> [Result(case, median_s, target_s, met)]
        return [
            target(
                "startup",
                "start-up (jcfix --help, jcfix templates)", "not measured", "< 0.2 s", None,
                note="benchmarks/startup_bench.py has no measure(runs)",
            )
        ]  # fmt: skip
    rows = []
    for result in measure_startup(bench.plan.startup_repeats):
        limit = result.target_s
        rows.append(
            target(
                "startup",
                f"start-up {result.case} (median of {result.runs})", f"{result.median_s:.3f} s",
                "-" if limit is None else f"< {limit} s", result.met,
                None if limit is None else round(result.median_s / limit, 2),
                "" if limit is not None else "for comparison only",
            )
        )  # fmt: skip
    return rows


RUNNERS: dict[str, Callable[[Bench], list[Target]]] = {
    "compare": compare,
    "adaptive": adaptive,
    "cores": both_cores,
    "scale": scale,
    "diagnose-rss": diagnose_rss,
    "fds": fds,
    "startup": startup,
}
