"""One client run, in its own process: ``bare`` (a fair bare pypsrp loop), ``play`` or ``diagnose`` (jcfix's CLI,
in this process). Writes its measurements as JSON to ``--result``; its console output goes wherever the driver
pointed stdout and stderr (a file).

CPU is ``getrusage`` SELF + CHILDREN (jcfix's worker processes are joined before the command returns, so
CHILDREN counts them), for the run only: imports are done before the clock starts.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

LAB_USER, LAB_PASSWORD = "labadmin", "Lab-Passw0rd!"
# Imported before the clock starts: start-up is measured on its own (startup_bench), not per host. The bare
# loop needs the first three only.
PREIMPORT = (
    "pypsrp.powershell", "pypsrp.wsman", "yaml", "toolkit.cli.app", "toolkit.cli.play", "toolkit.cli.diagnose",
    "toolkit.runner", "toolkit.transport.winrm", "toolkit.history", "toolkit.report.junit", "toolkit.report.html",
    "toolkit.rules", "toolkit.playbook", "toolkit.playbook_run", "jinja2", "rich.console",
)  # fmt: skip


def cpu_seconds() -> float:
    """User + system CPU of this process and its joined children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def facts_script() -> str:
    """The collect_facts script jcfix sends (the lab answers only jcfix's scripts)."""
    from toolkit.actions import get_action

    return str(get_action("collect_facts").render({}).script)


def bare(inventory: Path, window: int) -> dict[str, Any]:
    """A fair bare pypsrp loop: what jcfix needs per host and nothing more, with jcfix's connection choices.

    Per host: WSMan with the host's auth and scheme, encryption as jcfix picks it (never for Basic over HTTP,
    else auto), the inventory's CA for HTTPS (jcfix validates against it by default), no proxies and
    ``trust_env`` off on the session (as toolkit.transport.winrm does); then RunspacePool open, one pipeline
    of the collect_facts script, close. ``window`` hosts in flight (threads), as jcfix's run.
    """
    import yaml
    from pypsrp.powershell import PowerShell, RunspacePool
    from pypsrp.wsman import WSMan

    document = yaml.safe_load(inventory.read_text(encoding="utf-8"))
    ca_cert = document.get("ca_cert")
    script = facts_script()

    def one(entry: dict[str, Any]) -> str:
        https = entry["scheme"] == "https"
        try:
            wsman = WSMan(
                entry["address"], port=entry["port"], username=LAB_USER, password=LAB_PASSWORD, ssl=https,
                auth=entry["auth"], encryption="never" if entry["auth"] == "basic" and not https else "auto",
                cert_validation=ca_cert or True, no_proxy=True, reconnection_retries=0,
            )  # fmt: skip
            transport = wsman.transport
            transport.session = transport._build_session()
            transport.session.trust_env = False  # as jcfix: no per-request environment rescans
            with wsman, RunspacePool(wsman) as pool:
                shell = PowerShell(pool)
                shell.add_script(script)
                output = shell.invoke()
            return "ok" if len(output) == 1 and json.loads(output[0]).get("status") == "ok" else "failed"
        except Exception:  # a benchmark counts failures, it does not stop on them
            return "unreachable"

    counts: dict[str, int] = {}
    with ThreadPoolExecutor(window) as pool:
        for status in pool.map(one, document["hosts"].values()):
            counts[status] = counts.get(status, 0) + 1
    return {"statuses": counts}


def jcfix_command(variant: str, inventory: Path, workdir: Path, window: int, extra: list[str]) -> dict[str, Any]:
    """``jcfix play takeover-readiness`` or ``jcfix diagnose`` in this process, with the HTML and JUnit reports.

    ``window`` 0: jcfix's default (adaptive) window; N > 0: a fixed window of N (``toolkit.runner.ADAPTIVE``
    off and ``--forks N``); N < 0: ``--forks -N`` as an upper bound of the adaptive window.
    """
    import toolkit.runner
    from toolkit.cli.app import app

    # setattr: the runner may not have the attribute yet (then the window is its fixed --forks anyway).
    setattr(toolkit.runner, "ADAPTIVE", window <= 0)  # noqa: B010
    words = ["play", "takeover-readiness"] if variant == "play" else ["diagnose"]
    words += ["-i", str(inventory), "--history", str(workdir / "history.sqlite3"), "--no-jc-api"]
    words += ["--html", str(workdir / "report.html"), "--junit", str(workdir / "report.xml")]
    if window:
        words += ["--forks", str(abs(window))]
    try:
        code = app(args=words + extra, prog_name="jcfix", standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
    sys.stdout.flush()
    return {"exit_code": int(code or 0) if isinstance(code, int | None) else 1}


def history_statuses(path: Path) -> dict[str, int]:
    """Each host's status as the run history recorded it (what ``jcfix runs show`` says)."""
    from toolkit.history import History

    counts: dict[str, int] = {}
    with History(path) as history:
        (run,) = history.runs(limit=1)
        for host in history.hosts(run.seq):
            counts[host.status] = counts.get(host.status, 0) + 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description="one fleet-benchmark client run (started by fleet_bench.py)")
    parser.add_argument("--variant", choices=("bare", "play", "diagnose"), required=True)
    parser.add_argument("--inventory", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--window", type=int, default=0, help="0 default (adaptive), N fixed, -N adaptive up to N")
    parser.add_argument("--bare-window", type=int, default=32)
    parser.add_argument("extra", nargs="*", help="more jcfix options (after --)")
    args = parser.parse_args()
    os.environ.update(JCFIX_USER=LAB_USER, JCFIX_PASSWORD=LAB_PASSWORD, JCFIX_CONFIG="/dev/null")
    for name in PREIMPORT if args.variant != "bare" else PREIMPORT[:3]:
        with contextlib.suppress(ImportError):  # a module another version of jcfix does not have
            importlib.import_module(name)
    facts_script()
    before, started = cpu_seconds(), time.perf_counter()
    if args.variant == "bare":
        outcome = bare(args.inventory, args.bare_window)
    else:
        outcome = jcfix_command(args.variant, args.inventory, args.workdir, args.window, args.extra)
    wall, cpu = time.perf_counter() - started, cpu_seconds() - before
    if args.variant != "bare":
        database = args.workdir / "history.sqlite3"
        outcome["statuses"] = history_statuses(database) if database.exists() else {}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    outcome.update(wall_s=wall, cpu_s=cpu, children_cpu_s=children.ru_utime + children.ru_stime)
    args.result.write_text(json.dumps(outcome), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
