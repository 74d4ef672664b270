"""A JumpCloud API stand-in on loopback, serving the lab organisation (:mod:`toolkit.lab.jcdirectory`).

Only the endpoints jcfix calls, with the request and response shapes of JumpCloud's published specs
(research §6): ``x-api-key`` auth, ``x-org-id`` for a multi-tenant key, v1 ``{totalCount, results}`` lists,
v2 arrays (no ``X-Total-Count``: the spec declares none),
users, user states and scheduled activations, devices and their bound users, Commands and results.
Tests inject failures (:class:`InjectedFault`: a 429 with ``Retry-After``, a 500, a slow answer).

In-process::

    with JumpCloudLab.for_hosts(fleet.hosts, scenario="jumpcloud") as jc:
        env = {"JCFIX_JC_URL": jc.url, "JCFIX_JC_API_KEY": jc.api_key}

``python -m toolkit.lab.jcapi`` (what ``jcfix lab up`` starts) serves the WinRM lab hosts and this API in
one process, so Commands act on the very hosts WinRM sees.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from toolkit.lab.host import LabHost
from toolkit.lab.jcdirectory import JumpCloudScenario, LabDirectory
from toolkit.lab.jcquery import error, org_refusal
from toolkit.lab.jcroutes import Routes


@dataclass
class InjectedFault:
    """Answer matching requests with ``status`` (``times`` times), or delay them by ``delay_s``."""

    method: str
    path: str  # a regex matched against the path
    status: int = 0  # 0: no status, only the delay
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    delay_s: float = 0.0
    body: dict[str, Any] = field(default_factory=lambda: {"message": "injected"})


@dataclass(frozen=True)
class SeenRequest:
    """A request as the lab saw it (without the key's value: only whether it matched)."""

    method: str
    path: str
    query: dict[str, list[str]]
    key_ok: bool
    org_id: str | None


def jumpcloud_section(scenario: str | Path) -> JumpCloudScenario | None:
    """A scenario's ``jumpcloud:`` section, merged with those of the scenarios it includes."""
    from toolkit.lab.scenarios import load_scenario

    loaded, _ = load_scenario(scenario)
    parts = [jumpcloud_section(name) for name in loaded.include]
    own = loaded.jumpcloud
    sections = [s for s in [*parts, own] if s is not None]
    if not sections:
        return None
    merged = JumpCloudScenario()
    for section in sections:
        merged.users.extend(section.users)
        merged.systems.update(section.systems)
        merged.bindings.update(section.bindings)
        for name in ("multi_tenant", "password_min_length", "agent_sync_interval_s"):
            if getattr(section, name) is not None:
                setattr(merged, name, getattr(section, name))
    return merged


class JumpCloudLab:
    """The API stand-in on ``127.0.0.1`` (a free port), in a background thread.

    Attributes:
        directory: the organisation's state (tests look at and change it directly).
        faults: injected failures, consumed in order.
        seen: every request received.
    """

    def __init__(self, directory: LabDirectory, *, address: str = "127.0.0.1", port: int = 0) -> None:
        self.directory = directory
        self.faults: list[InjectedFault] = []
        self.seen: list[SeenRequest] = []
        self._routes = Routes(directory)
        self._server = ThreadingHTTPServer((address, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @classmethod
    def for_hosts(cls, hosts: Sequence[LabHost], scenario: str | Path | None = None, **kwargs: Any) -> JumpCloudLab:
        """A lab API over ``hosts``, organised by ``scenario``'s ``jumpcloud:`` section (if any)."""
        section = jumpcloud_section(scenario) if scenario is not None else None
        return cls(LabDirectory.build(hosts, section), **kwargs)

    @property
    def url(self) -> str:
        address, port = self._server.server_address[:2]
        host = address.decode() if isinstance(address, bytes) else address
        return f"http://{host}:{port}"

    @property
    def api_key(self) -> str:
        return self.directory.api_key

    def env(self) -> dict[str, str]:
        """The environment a jcfix process needs to use this lab (with the org id when the key is multi-tenant)."""
        env = {"JCFIX_JC_URL": self.url, "JCFIX_JC_API_KEY": self.api_key}
        if self.directory.multi_tenant:
            env["JCFIX_JC_ORG_ID"] = self.directory.org_id
        return env

    def start(self) -> JumpCloudLab:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, name="jcfix-lab-jcapi", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> JumpCloudLab:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def requests_to(self, method: str, path_regex: str) -> list[SeenRequest]:
        pattern = re.compile(path_regex + "$")
        return [r for r in self.seen if r.method == method and pattern.match(r.path)]

    def _fault_for(self, method: str, path: str) -> InjectedFault | None:
        for fault in self.faults:
            if fault.method == method and re.match(fault.path + "$", path) and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        lab = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read lab.seen instead
                return

            def _answer(self, status: int, body: Any, headers: dict[str, str]) -> None:
                data = b"" if body is None or status == 204 else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (a timeout test): nothing to answer

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                key_ok = self.headers.get("x-api-key") == lab.directory.api_key
                query = parse_qs(parts.query)
                lab.seen.append(SeenRequest(self.command, parts.path, query, key_ok, self.headers.get("x-org-id")))
                fault = lab._fault_for(self.command, parts.path)
                if fault is not None and fault.delay_s:
                    time.sleep(fault.delay_s)
                if fault is not None and fault.status:
                    self._answer(fault.status, fault.body, fault.headers)
                    return
                if not key_ok:
                    self._answer(401, error(401, "Unauthorized"), {})
                    return
                directory = lab.directory
                refusal = org_refusal(
                    parts.path,
                    self.headers.get("x-org-id"),
                    multi_tenant=directory.multi_tenant,
                    org_id=directory.org_id,
                )
                if refusal is not None:
                    self._answer(refusal[0], error(*refusal), {})
                    return
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    self._answer(400, {"message": "invalid JSON"}, {})
                    return
                self._answer(*lab._routes.dispatch(self.command, parts.path, query, body))

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the WinRM lab hosts and the JumpCloud API over the same hosts until SIGINT/SIGTERM.

    Takes the lab server's arguments, plus ``--jc-state FILE`` (where to write ``{url, api_key}``, and
    ``org_id`` for a multi-tenant key), ``--jc-multi-tenant`` (every call needs ``x-org-id``) and
    ``--jc-agent-sync SECONDS`` (the agents' check-in interval); both override the scenario's settings.
    """
    import asyncio
    import logging

    from toolkit.lab.fleet import write_inventory
    from toolkit.lab.scenarios import ScenarioError, load_hosts
    from toolkit.lab.server import LabServer, _parse_args

    own = argparse.ArgumentParser(add_help=False)
    own.add_argument("--jc-state", type=Path, required=True)
    own.add_argument("--jc-multi-tenant", action="store_true")
    own.add_argument("--jc-agent-sync", type=float, default=None)
    mine, rest = own.parse_known_args(argv)
    args = _parse_args(rest)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        hosts = load_hosts(args.scenario, count=args.hosts, seed=args.seed)
        api = JumpCloudLab.for_hosts(hosts, args.scenario if args.scenario != "random" else None)
        if mine.jc_multi_tenant:
            api.directory.multi_tenant = True
        if mine.jc_agent_sync is not None:
            api.directory.sync_interval_s = max(0.0, mine.jc_agent_sync)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    server = LabServer(
        hosts, tls=args.tls, auth=args.auth, addressing=args.addressing, base_address=args.base_address, port=args.port
    )

    async def serve() -> None:
        await server.start()
        api.start()
        if args.inventory is not None:
            write_inventory(args.inventory, server.endpoints, hosts, server.certificate)
        jc_state = {"url": api.url, "api_key": api.api_key}
        if api.directory.multi_tenant:
            jc_state["org_id"] = api.directory.org_id
        mine.jc_state.write_text(json.dumps(jc_state) + "\n", encoding="utf-8")
        if args.ready_file is not None:
            args.ready_file.write_text("ready\n", encoding="utf-8")
        print(f"lab: {len(hosts)} hosts and the JumpCloud API at {api.url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        api.stop()
        await server.stop()

    try:
        asyncio.run(serve())
    except OSError as exc:
        print(f"error: cannot listen: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
