"""Fleet benchmark for issue 14: every target measured side by side in one run, printed with its measured
value, ratio and met / NOT met. Not a test: it prints numbers (and writes them as JSON with --json).

The lab runs in its own process (``python -m toolkit.lab.server --addressing addresses --port 0`` from
``--base-address``, default 127.0.100.1, so it runs beside a ``jcfix lab up`` on 127.0.10.x) with a latency
added to every HTTP response. Each client run is its own subprocess (benchmarks/fleet/client.py):

* ``bare``: a fair bare pypsrp loop (jcfix's auth, scheme, encryption, CA and ``trust_env`` choices; pool
  open, one collect_facts pipeline, close), as many threads as jcfix's window;
* ``play``: ``jcfix play takeover-readiness`` with ``--html`` and ``--junit``, console output to a file;
* ``diagnose``: ``jcfix diagnose`` likewise.

Per run: wall s, hosts/min, client CPU ms/host (getrusage SELF + CHILDREN: worker processes included), cores
used (CPU s / wall s), workers (the client's child processes), HTTP requests/host counted by the lab against
the protocol minimum, lab CPU ms/host (when the lab reports ``cpu_s``), peak RSS and open fds summed over the
client's process tree (sampled from /proc every 0.1 s), and every host's status (from the JUnit report).

Sections (``--only``): compare, adaptive, scale, diagnose-rss, fds, startup. See benchmarks/README.md.

Run::

    .venv/bin/python benchmarks/fleet_bench.py --json fleet.json            # full: about 30-40 min, 2 cores
    .venv/bin/python benchmarks/fleet_bench.py --quick                      # 200 hosts, 20 ms, a few minutes
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet.lab import COMBOS, Labs
from fleet.report import estimate_s, machine, run_header, run_line, targets_table
from fleet.sections import RUNNERS, SECTIONS, Bench, Plan, Target


def _ints(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from None
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"not a list of integers >= 0: {text!r}")
    return values


def _names(choices: tuple[str, ...]) -> Any:
    def parse(text: str) -> list[str]:
        names = [part.strip() for part in text.split(",") if part.strip()]
        unknown = [n for n in names if n not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)} (got {text!r})")
        return names

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    add = parser.add_argument
    add("--quick", action="store_true", help="small: 200 hosts, 20 ms only, windows 16-128, scale 200")
    add("--only", type=_names(SECTIONS), default=list(SECTIONS), help=f"sections: {','.join(SECTIONS)}")
    add("--json", type=Path, help="write every run and target here")
    add("--base-address", default="127.0.100.1", help="the labs' first loopback address (default 127.0.100.1)")
    add("--hosts", type=int, help="hosts per compare run (default 500; quick 200)")
    add("--latencies", type=_ints, help="lab latencies in ms (default 20,200; quick 20)")
    add("--combos", type=_names(tuple(COMBOS)), help=f"compare combos (default all: {','.join(COMBOS)})")
    add("--window", type=int, default=32, help="hosts in flight for bare and jcfix in compare (default 32)")
    add("--adaptive-combo", choices=sorted(COMBOS), default="ntlm-https", help="combo of adaptive, scale, diagnose-rss")
    add("--adaptive-hosts", type=int, help="hosts per adaptive run (default 1000; quick 200)")
    add("--windows", type=_ints, help="fixed windows swept by adaptive (default 16,32,64,128,256,512)")
    add("--scale", type=int, help="hosts of the headline run (default 10000; quick 200)")
    add("--rss-sizes", type=_ints, help="two diagnose fleet sizes (default 1000,10000; quick 100,200)")
    add("--fds-hosts", type=int, help="faults-fleet hosts (default 140; quick 70)")
    add("--fds-window", type=int, default=8, help="--forks of the faults-fleet run (default 8)")
    add("--fds-deadline", type=int, default=10, help="--deadline of the faults-fleet run, s (default 10)")
    add("--startup-repeats", type=int, default=10, help="whole-process runs per start-up median (default 10)")
    args = parser.parse_args(argv)
    if args.rss_sizes is not None and len(args.rss_sizes) != 2:
        parser.error("--rss-sizes takes two sizes")
    for name in (
        "hosts",
        "adaptive_hosts",
        "scale",
        "fds_hosts",
        "window",
        "fds_window",
        "fds_deadline",
        "startup_repeats",
    ):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def make_plan(args: argparse.Namespace) -> Plan:
    """The plan from the options: the full run's sizes, or --quick's, with each option overriding."""
    quick = args.quick

    def pick(value: Any, full: Any, small: Any) -> Any:
        return value if value is not None else small if quick else full

    return Plan(
        hosts=pick(args.hosts, 500, 200),
        latencies=pick(args.latencies, [20, 200], [20]),
        combos=pick(args.combos, list(COMBOS), list(COMBOS)),
        bare_window=args.window,
        adaptive_combo=args.adaptive_combo,
        adaptive_hosts=pick(args.adaptive_hosts, 1000, 200),
        windows=pick(args.windows, [16, 32, 64, 128, 256, 512], [16, 32, 64, 128]),
        scale=pick(args.scale, 10_000, 200),
        rss_sizes=tuple(pick(args.rss_sizes, [1_000, 10_000], [100, 200])),
        fds_hosts=pick(args.fds_hosts, 140, 70),
        fds_window=args.fds_window,
        fds_deadline=args.fds_deadline,
        startup_repeats=args.startup_repeats,
        only=tuple(s for s in SECTIONS if s in args.only),
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = make_plan(args)
    started = datetime.datetime.now(datetime.timezone.utc)
    print(f"fleet_bench {started:%Y-%m-%d %H:%M} UTC on {machine()}")
    print(f"sections: {', '.join(plan.only)}; estimate ~{estimate_s(plan) / 60:.0f} min (rough; load changes it)")
    printed: list[bool] = []

    def show(run: dict[str, Any]) -> None:
        if not printed:  # the lab CPU column only when the lab reports its CPU
            printed.append("lab_cpu_ms_per_host" in run)
            print(run_header(printed[0]))
        print(run_line(run, printed[0]), flush=True)

    targets: list[Target] = []
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as root:
        labs = Labs(Path(root), args.base_address)
        bench = Bench(labs, plan, show)
        try:
            for section in plan.only:
                targets += RUNNERS[section](bench)
        finally:
            labs.stop_all()
    print(f"\n{targets_table(targets)}")
    if args.json:
        document = {
            "date": started.isoformat(timespec="seconds"),
            "machine": machine(),
            "plan": {k: v for k, v in vars(plan).items()},
            "runs": bench.runs,
            "targets": targets,
        }
        args.json.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
