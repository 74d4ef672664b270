"""Wall-clock timings that used to be upper bounds inside tests: measured here, against their targets.

The tests keep their functional assertions (every host answers, a Receive survives a client that gave up,
an offline device past its time-to-live is unreachable); how long each takes depends on the machine and
its load, so the bounds live here. Not a test: it prints numbers, and exits 1 when a target is missed.

* ``listeners``: one lab process's ``LabFleet`` binding N listeners, each on its own loopback address
  (``addressing="addresses"``, ``port=0``: free ports, beside a running ``jcfix lab up``), then every host
  answering ``list_users`` over pypsrp, 32 in flight (was ``tests/lab/test_scale.py``: start under 30 s).
* ``receive-retry``: a script slower (1.5 s) than the client's read timeout (1 s): pypsrp retries the
  Receive and gets the output (was ``tests/lab/test_protocol.py``: under 10 s).
* ``jc-ttl``: ``jcfix users list --via jumpcloud`` on an offline device with a 1 s time-to-live and
  command timeout, until it reports the host unreachable (was ``tests/jumpcloud/test_jc_transport.py``:
  under 30 s).

Run::

    .venv/bin/python benchmarks/lab_timings.py                # all three, 1,000 listeners
    .venv/bin/python benchmarks/lab_timings.py --hosts 100 --only listeners
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pypsrp.powershell import PowerShell, RunspacePool  # noqa: E402
from pypsrp.wsman import WSMan  # noqa: E402

from toolkit.actions import get_action  # noqa: E402
from toolkit.lab.constants import LAB_PASSWORD, LAB_USERNAME  # noqa: E402
from toolkit.lab.fleet import FleetEndpoint, LabFleet  # noqa: E402

TARGETS_S = {"listeners-start": 30.0, "receive-retry": 10.0, "jc-ttl": 30.0}
BASE_ADDRESS = "127.0.100.1"  # away from `jcfix lab up`'s 127.0.10.1, and port 0 anyway


def _wsman(endpoint: FleetEndpoint, **options: object) -> WSMan:
    settings: dict[str, object] = {
        "port": endpoint.port,
        "ssl": False,
        "auth": "basic",
        "encryption": "never",
        "username": LAB_USERNAME,
        "password": LAB_PASSWORD,
        "no_proxy": True,
        "operation_timeout": 5,
        "read_timeout": 10,
        "connection_timeout": 5,
        **options,
    }
    return WSMan(endpoint.address, **settings)


def _list_users(wsman: WSMan) -> int:
    """Run list_users in a fresh pool; returns how many output objects came back."""
    with RunspacePool(wsman) as pool:
        powershell = PowerShell(pool)
        powershell.add_script(get_action("list_users").render({}).script)
        powershell.invoke()
    return len(powershell.output)


def measure_listeners(hosts: int) -> dict[str, float]:
    """Seconds to bind ``hosts`` listeners, and for every host to answer list_users."""
    started = time.monotonic()
    with LabFleet.from_scenario(
        "random", hosts=hosts, seed=11, addressing="addresses", base_address=BASE_ADDRESS, port=0
    ) as fleet:
        bound = time.monotonic() - started
        with ThreadPoolExecutor(max_workers=32) as pool:
            answers = list(pool.map(lambda e: _list_users(_wsman(e)), fleet.endpoints))
        answered = time.monotonic() - started - bound
    if answers != [1] * hosts:
        raise SystemExit(f"listeners: {answers.count(1)} of {hosts} hosts answered with one document")
    return {"listeners-start": bound, "listeners-answer": answered}


def measure_receive_retry() -> dict[str, float]:
    """Seconds until a client whose Receive timed out once gets a slow script's output."""
    with LabFleet.from_scenario("healthy") as fleet:
        fleet.hosts[0].faults.script_delay_s = 1.5
        wsman = _wsman(fleet.endpoints[0], operation_timeout=20, read_timeout=1, reconnection_backoff=0.1)
        started = time.monotonic()
        outputs = _list_users(wsman)
        elapsed = time.monotonic() - started
    if outputs != 1:
        raise SystemExit(f"receive-retry: {outputs} outputs instead of one")
    return {"receive-retry": elapsed}


def _jcfix_env(directory: Path, api_env: dict[str, str]) -> dict[str, str]:
    """A jcfix subprocess's environment: no user config, 1 s time-to-live and timeout, history in ``directory``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JCFIX_")}
    env.update(
        JCFIX_CONFIG="/dev/null",
        JCFIX_JC_JOURNAL_DIR=str(directory / "journal"),
        JCFIX_JC_POLL_INTERVAL="0.1",
        JCFIX_JC_COMMAND_TTL="1",
        JCFIX_JC_COMMAND_TIMEOUT="1",
        JCFIX_HISTORY=str(directory / "history.sqlite"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        **api_env,
    )
    return env


def measure_jc_ttl() -> dict[str, float]:
    """Seconds until ``jcfix users list --via jumpcloud`` reports an offline device past its TTL."""
    from toolkit.lab.jcapi import JumpCloudLab

    command = ["users", "list", "--host", "lab-jc-offline", "--via", "jumpcloud", "-o", "json"]
    with (
        tempfile.TemporaryDirectory() as directory,
        LabFleet.from_scenario("jumpcloud") as fleet,
        JumpCloudLab.for_hosts(fleet.hosts, "jumpcloud") as api,
    ):
        env = _jcfix_env(Path(directory), api.env())
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "toolkit", *command], capture_output=True, text=True, env=env, timeout=300
        )
        elapsed = time.monotonic() - started
    (host,) = json.loads(done.stdout or "[{}]")
    if host.get("status") != "unreachable":
        raise SystemExit(f"jc-ttl: expected an unreachable host, got {done.stdout or done.stderr}")
    return {"jc-ttl": elapsed}


def main(argv: list[str] | None = None) -> int:
    """Run the chosen measurements; print ``name seconds target``; 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=1000, help="listeners for the 'listeners' run (default 1000)")
    parser.add_argument("--only", choices=("listeners", "receive-retry", "jc-ttl"), action="append")
    args = parser.parse_args(argv)
    runs: dict[str, Callable[[], dict[str, float]]] = {
        "listeners": lambda: measure_listeners(args.hosts),
        "receive-retry": measure_receive_retry,
        "jc-ttl": measure_jc_ttl,
    }
    missed = 0
    print(f"{'measure':18} {'seconds':>8} {'target':>8}")
    for name in args.only or list(runs):
        for measure, seconds in runs[name]().items():
            target = TARGETS_S.get(measure)
            over = target is not None and seconds >= target
            missed += over
            shown = f"< {target:.0f}" if target is not None else "-"
            print(f"{measure:18} {seconds:8.2f} {shown:>8}{'  MISSED' if over else ''}", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
