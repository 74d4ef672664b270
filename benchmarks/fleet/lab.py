"""The lab in its own process (``python -m toolkit.lab.server``), its inventory, and its counters."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LAB_USER, LAB_PASSWORD = "labadmin", "Lab-Passw0rd!"


@dataclass(frozen=True)
class Combo:
    """An authentication and transport combination the lab serves and the clients use."""

    name: str
    auth: str
    tls: bool

    @property
    def protocol_minimum(self) -> int:
        """HTTP requests per host for pool open, one pipeline, close, with the pool-open reply in ONE Receive.

        Create, Receive, Command, Receive, Delete = 5. NTLM as pypsrp does it adds its handshake: the first
        request goes out without credentials (401), again with the Negotiate token (401 + challenge), then
        with the Authenticate token: +2 over HTTPS; over HTTP, message encryption needs the security context
        before the first message, so that handshake is made with a blank request first: +3.
        """
        if self.auth != "ntlm":
            return 5
        return 5 + (2 if self.tls else 3)


COMBOS = {
    "basic-http": Combo("Basic/HTTP", "basic", False),
    "ntlm-http": Combo("NTLM/HTTP", "ntlm", False),
    "ntlm-https": Combo("NTLM/HTTPS", "ntlm", True),
}


class Lab:
    """A running lab process: ``hosts`` listeners from ``base_address`` at free ports, ``latency_ms`` per response.

    HTTP requests are counted on the lab side (its stats file, written on SIGUSR1), so no client can
    miscount itself; the stats also carry the lab's CPU seconds (``cpu_s``) when the lab reports them.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        hosts: int,
        latency_ms: int,
        combo: Combo,
        base_address: str,
        scenario: str = "random",
        start_timeout_s: float = 900.0,
    ) -> None:
        self.workdir = workdir
        self.hosts = hosts
        self.latency_ms = latency_ms
        self.combo = combo
        self.scenario = scenario
        workdir.mkdir(parents=True, exist_ok=True)
        self.inventory = workdir / "inventory.yaml"
        self.stats_file = workdir / "lab-stats.json"
        self.log = workdir / "lab.log"
        ready = workdir / "ready"
        command = [
            sys.executable, "-m", "toolkit.lab.server",
            "--scenario", scenario, "--hosts", str(hosts),
            "--addressing", "addresses", "--base-address", base_address, "--port", "0",
            "--auth", combo.auth,
            "--inventory", str(self.inventory), "--ready-file", str(ready), "--stats-file", str(self.stats_file),
        ]  # fmt: skip
        if latency_ms:
            command += ["--latency-ms", str(latency_ms)]
        if combo.tls:
            command.append("--tls")
        started = time.monotonic()
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        while not ready.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"the lab exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            if time.monotonic() - started > start_timeout_s:
                self.stop()
                raise RuntimeError(f"the lab did not start in {start_timeout_s:.0f} s")
            time.sleep(0.1)
        self.start_s = time.monotonic() - started

    def stats(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """The lab's totals now: ``requests_served``, ``pipelines_run``, and ``cpu_s`` when it reports it."""
        self.stats_file.unlink(missing_ok=True)
        self.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout_s
        while not self.stats_file.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the lab wrote no stats")
            time.sleep(0.02)
        return dict(json.loads(self.stats_file.read_text(encoding="utf-8")))

    def stop(self) -> None:
        """Stop the lab process (SIGTERM, then SIGKILL after a minute)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Labs:
    """Running labs, reused across sections: small ones are kept, a big one is stopped when another is asked for."""

    KEEP_UP_TO = 1000  # hosts: labs this small stay up until the end (cheap), bigger ones one at a time

    def __init__(self, root: Path, base_address: str) -> None:
        self.root = root
        self.base_address = base_address
        self.running: dict[tuple[str, int, int, str], Lab] = {}
        self.count = 0

    def get(self, combo: Combo, hosts: int, latency_ms: int, scenario: str = "random") -> Lab:
        """A running lab of this shape (started if needed)."""
        key = (combo.name, hosts, latency_ms, scenario)
        if key in self.running:
            return self.running[key]
        for other_key, other in list(self.running.items()):
            if other.hosts > self.KEEP_UP_TO or hosts > self.KEEP_UP_TO:
                other.stop()
                del self.running[other_key]
        # Each lab gets its own address range: two labs never share an address (a stopped lab's ports may
        # linger in TIME_WAIT, and the ranges keep the logs readable).
        base = _offset_address(self.base_address, self.count)
        self.count += 1
        lab = Lab(
            self.root / f"lab-{self.count}", hosts=hosts, latency_ms=latency_ms, combo=combo,
            base_address=base, scenario=scenario,
        )  # fmt: skip
        self.running[key] = lab
        return lab

    def stop_all(self) -> None:
        """Stop every lab still running."""
        for lab in self.running.values():
            lab.stop()
        self.running.clear()


def _offset_address(base: str, index: int) -> str:
    """``base`` with its second-to-last octet moved on by ``index`` x 64 (room for 16,000 hosts per lab)."""
    import ipaddress

    address = ipaddress.IPv4Address(base) + index * 64 * 256
    if not address.is_loopback:
        address = ipaddress.IPv4Address(base)
    return str(address)
