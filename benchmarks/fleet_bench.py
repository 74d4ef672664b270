"""Fleet benchmark: the takeover-readiness work over a lab fleet, jcfix against a bare pypsrp loop and the
naive ``Client.execute_ps`` approach, measured side by side in one run. Not a test: it prints numbers.

The lab runs in its own process (``python -m toolkit.lab.server --addressing addresses``: every host on
its own 127.0.x.y from 127.0.100.1, at a free port, so it runs beside a ``jcfix lab up``) with an injected
latency on every HTTP response. Each client variant runs in its own subprocess, so its CPU time and peak
RSS are its own; HTTP requests are counted on the lab side (the listeners' ``requests_served``, written by
the lab on SIGUSR1), never by the client.

Variants, each with the same 32 hosts in flight (jcfix's default ``--forks``):

* ``jcfix``: :func:`toolkit.runner.run_fleet` with one ``collect_facts`` step per host, the diagnosis
  rules over each host's facts, and the run history written as hosts finish (what ``jcfix diagnose``
  does, minus printing);
* ``bare``: the minimum pypsrp can do per host: open a runspace pool, run the collect_facts script in
  one pipeline, close the pool;
* ``naive``: one ``pypsrp.client.Client.execute_ps`` per check (each opens and closes its own pool), for
  the NAIVE_CHECKS below: what a script that asks each question separately does.

Run (about 10 minutes with the 10,000-host run)::

    /work/venv/bin/python benchmarks/fleet_bench.py --hosts 100,1000 --scale 10000
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
LAB_USER, LAB_PASSWORD = "labadmin", "Lab-Passw0rd!"
FORKS = 32

# What the readiness diagnosis needs to know, one question each (the fact groups collect_facts reads in
# one pipeline): the naive approach sends one execute_ps per line. The lab answers only jcfix's scripts,
# so each call sends the collect_facts script: the protocol work per call (pool open, one pipeline,
# pool close) is what a one-question script would cost, whatever the question.
NAIVE_CHECKS = (
    "OS caption and version, PowerShell version, bitness (Win32_OperatingSystem, $PSVersionTable)",
    "local accounts (Get-LocalUser, or Win32_UserAccount on 32-bit endpoints)",
    "user profiles: path and loaded (Win32_UserProfile)",
    "Windows Hello PIN per SID (LogonUI\\NgcPin)",
    "picture password per SID (LogonUI\\PicturePassword)",
    "who is signed in (explorer.exe owners)",
    "JumpCloud agent service (Get-Service jumpcloud-agent)",
    "agent files: version.txt, jcagent.conf systemKey, managedUsers.json",
    "agent log: recent ERROR/WARN lines of jcagent.log",
)


# ---- client variants (each runs in its own subprocess) ------------------------------------------


def _targets(inventory: Path) -> list[Any]:
    from toolkit.inventory import load_inventory

    return load_inventory(inventory)


def _facts_script() -> str:
    from toolkit.actions import get_action

    return get_action("collect_facts").render({}).script


def client_jcfix(inventory: Path, workdir: Path) -> dict[str, Any]:
    """jcfix: the runner, the rules and the run history, streaming host by host."""
    from toolkit.actions import get_action
    from toolkit.actions.collect_facts import HostFacts
    from toolkit.history import HistoryRecorder
    from toolkit.report.recorders import run_meta, run_summary
    from toolkit.report.view import expected_jc_users
    from toolkit.rules import diagnose
    from toolkit.runner import Step, run_fleet
    from toolkit.secrets import Secret
    from toolkit.settings import ConnectionSettings

    targets = _targets(inventory)
    action = get_action("collect_facts")
    step = Step(action, action.render({}))
    settings = ConnectionSettings(scheme="http", auth="basic", user=LAB_USER, password=Secret(LAB_PASSWORD))
    history = HistoryRecorder(workdir / "history.sqlite3", settings)
    history.start(run_meta("bench", hosts=len(targets), check_mode=False, command="fleet_bench jcfix"))
    counts: dict[str, int] = {}
    blocked = 0
    for report in run_fleet([(t, [step]) for t in targets], settings, forks=FORKS):
        (_, result), *_ = report.results
        if isinstance(result.data, HostFacts):
            findings = diagnose(report.target.name, result.data, expected_jc_users(report.target))
            blocked += any(f.severity == "blocker" for f in findings)
        history.host_done(report)
        counts[report.status] = counts.get(report.status, 0) + 1
    history.finish(run_summary(counts, exit_code=0))
    return {"hosts": sum(counts.values()), "statuses": counts, "hosts_with_blockers": blocked}


def client_play(inventory: Path, workdir: Path) -> dict[str, Any]:
    """``jcfix play takeover-readiness``: the command an admin runs, in this process, output discarded.

    Everything the product does per host is in: inventory, playbook, runner, diagnosis rules, run
    history and the recap (printed to /dev/null); hosts are counted from the run history it wrote.
    """
    import contextlib

    from toolkit.cli.app import app
    from toolkit.history import History

    os.environ.update(JCFIX_USER=LAB_USER, JCFIX_PASSWORD=LAB_PASSWORD, JCFIX_CONFIG="/dev/null")
    database = workdir / "play-history.sqlite3"
    words = ["play", "takeover-readiness", "-i", str(inventory), "--plain", "--quiet", "--history", str(database)]
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = app(args=words, prog_name="jcfix", standalone_mode=False)
    with History(database) as history:
        (run,) = history.runs(limit=1)
        counts: dict[str, int] = {}
        for host in history.hosts(run.seq):
            counts[host.status] = counts.get(host.status, 0) + 1
    return {"hosts": sum(counts.values()), "statuses": counts, "exit_code": int(code or 0)}


def client_bare(inventory: Path, workdir: Path) -> dict[str, Any]:
    """The minimum per host: open a pool, one pipeline, close."""
    from pypsrp.powershell import PowerShell, RunspacePool
    from pypsrp.wsman import WSMan

    script = _facts_script()

    def one(target: Any) -> str:
        try:
            wsman = WSMan(
                target.connect_address,
                port=target.port,
                username=LAB_USER,
                password=LAB_PASSWORD,
                ssl=False,
                auth="basic",
                encryption="never",
                no_proxy=True,
            )
            with wsman, RunspacePool(wsman) as pool:
                shell = PowerShell(pool)
                shell.add_script(script)
                output = shell.invoke()
            return "ok" if len(output) == 1 and json.loads(output[0])["status"] == "ok" else "failed"
        except Exception:
            return "failed"

    return _pooled(inventory, one)


def client_naive(inventory: Path, workdir: Path) -> dict[str, Any]:
    """``Client.execute_ps`` once per check (each call opens and closes its own runspace pool)."""
    from pypsrp.client import Client

    script = _facts_script()

    def one(target: Any) -> str:
        try:
            client = Client(
                target.connect_address,
                port=target.port,
                username=LAB_USER,
                password=LAB_PASSWORD,
                ssl=False,
                auth="basic",
                encryption="never",
                no_proxy=True,
            )
            ok = True
            for _check in NAIVE_CHECKS:
                output, _streams, had_errors = client.execute_ps(script)
                ok = ok and not had_errors and json.loads(output)["status"] == "ok"
            return "ok" if ok else "failed"
        except Exception:
            return "failed"

    return _pooled(inventory, one)


def _pooled(inventory: Path, one: Any) -> dict[str, Any]:
    """Run ``one`` per host with FORKS hosts in flight, as jcfix does."""
    counts: dict[str, int] = {}
    with concurrent.futures.ThreadPoolExecutor(FORKS) as pool:
        for status in pool.map(one, _targets(inventory)):
            counts[status] = counts.get(status, 0) + 1
    return {"hosts": sum(counts.values()), "statuses": counts}


CLIENTS = {"play": client_play, "jcfix": client_jcfix, "bare": client_bare, "naive": client_naive}


def run_client(variant: str, inventory: Path, workdir: Path) -> None:
    """The subprocess side: do the work, print one JSON line of measurements (CPU: the work's, not imports')."""
    import pypsrp.client  # noqa: F401  (imports are start-up cost, the same for any fleet size: not measured)

    import toolkit.cli.app
    import toolkit.history
    import toolkit.inventory
    import toolkit.report.recorders
    import toolkit.rules
    import toolkit.runner  # noqa: F401

    _facts_script()
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    outcome = CLIENTS[variant](inventory, workdir)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                **outcome,
                "wall_s": wall,
                "cpu_s": usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime,
                "peak_rss_mb": usage.ru_maxrss / 1024,  # Linux: KiB
            }
        )
    )


# ---- the driver ------------------------------------------------------------------------------------


class Lab:
    """The lab in its own process, its inventory, and its request counter."""

    def __init__(self, hosts: int, latency_ms: int, workdir: Path) -> None:
        self.workdir = workdir
        self.inventory = workdir / "inventory.yaml"
        self.stats = workdir / "lab-stats.json"
        ready = workdir / "ready"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "toolkit.lab.server",
                "--scenario",
                "random",
                "--hosts",
                str(hosts),
                "--addressing",
                "addresses",
                # Away from a running `jcfix lab up` (127.0.10.1 at 5985): its own addresses, free ports.
                "--base-address",
                "127.0.100.1",
                "--port",
                "0",
                "--latency-ms",
                str(latency_ms),
                "--inventory",
                str(self.inventory),
                "--ready-file",
                str(ready),
                "--stats-file",
                str(self.stats),
            ],
            cwd=REPO,
        )
        while not ready.exists():
            if self.process.poll() is not None:
                raise SystemExit(f"the lab exited with {self.process.returncode}")
            time.sleep(0.2)

    def requests(self) -> int:
        """Total HTTP requests the lab has served so far."""
        self.stats.unlink(missing_ok=True)
        self.process.send_signal(signal.SIGUSR1)
        while not self.stats.exists():
            time.sleep(0.05)
        return int(json.loads(self.stats.read_text())["requests_served"])

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


def measure(lab: Lab, variant: str, hosts: int) -> dict[str, Any]:
    """Run one variant in its own subprocess against the running lab."""
    before = lab.requests()
    with tempfile.TemporaryDirectory(prefix=f"bench-{variant}-") as workdir:
        done = subprocess.run(
            [sys.executable, __file__, "--client", variant, "--inventory", str(lab.inventory), "--workdir", workdir],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["requests"] = lab.requests() - before
    result["variant"] = variant
    result["planned"] = hosts
    return result


def row(r: dict[str, Any]) -> str:
    n = r["planned"]
    accounted = r["hosts"] == n
    return (
        f"| {r['variant']:<5} | {n:>6} | {r['wall_s']:8.1f} | {n / r['wall_s'] * 60:10.0f} | "
        f"{r['cpu_s'] * 1000 / n:8.1f} | {r['requests'] / n:8.1f} | {r['peak_rss_mb']:8.0f} | "
        f"{'all ' + str(r['hosts']) if accounted else str(r['hosts']) + ' of ' + str(n)} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(r['statuses'].items()))}) |"
    )


HEADER = (
    "| client | hosts | wall s | hosts/min | CPU ms/host | HTTP req/host | peak RSS MB | hosts accounted for |\n"
    "|---|---:|---:|---:|---:|---:|---:|---|"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", default="100,1000", help="fleet sizes, comma-separated (default 100,1000)")
    parser.add_argument("--latency-ms", type=int, default=20, help="lab latency per HTTP response (default 20)")
    parser.add_argument("--scale", type=int, default=0, help="also run jcfix alone over this many hosts (10000)")
    parser.add_argument("--scale-variant", default="play", choices=("play", "jcfix"), help="which jcfix at --scale")
    parser.add_argument("--variants", default="play,jcfix,bare,naive")
    parser.add_argument("--client", choices=sorted(CLIENTS), help=argparse.SUPPRESS)
    parser.add_argument("--inventory", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        run_client(args.client, args.inventory, args.workdir)
        return 0

    print(
        f"fleet_bench: latency {args.latency_ms} ms per HTTP response, {FORKS} hosts in flight, "
        f"{os.cpu_count()} CPUs; naive = execute_ps x {len(NAIVE_CHECKS)} checks per host\n"
    )
    print(HEADER, flush=True)
    ratios = []
    for hosts in [int(n) for n in args.hosts.split(",") if n]:
        with tempfile.TemporaryDirectory(prefix="bench-lab-") as workdir:
            lab = Lab(hosts, args.latency_ms, Path(workdir))
            try:
                results = {}
                for variant in args.variants.split(","):
                    results[variant] = measure(lab, variant, hosts)
                    print(row(results[variant]), flush=True)
            finally:
                lab.stop()
        ratios.append((hosts, results))
    for hosts, results in ratios:
        b, n = results.get("bare"), results.get("naive")
        for name in ("play", "jcfix"):
            j = results.get(name)
            if not (j and b and n):
                continue
            print(
                f"\n{hosts} hosts: requests/host {name} {j['requests'] / hosts:.1f} vs bare {b['requests'] / hosts:.1f}"
                f" (target equal); CPU/host {name}/bare = {j['cpu_s'] / b['cpu_s']:.2f}x (target <= 1.3x);"
                f" hosts/min {name}/naive = {n['wall_s'] / j['wall_s']:.2f}x (target >= 3x)"
            )
    if args.scale:
        with tempfile.TemporaryDirectory(prefix="bench-lab-") as workdir:
            lab = Lab(args.scale, args.latency_ms, Path(workdir))
            try:
                big = measure(lab, args.scale_variant, args.scale)
            finally:
                lab.stop()
        print(f"\n{HEADER}\n{row(big)}")
        print(
            f"\n{args.scale} hosts: {big['hosts']} accounted for; peak RSS {big['peak_rss_mb']:.0f} MB (target < 500)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
