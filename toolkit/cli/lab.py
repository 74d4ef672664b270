"""``jcfix lab``: start and stop a fleet of simulated Windows hosts on loopback, list its scenarios.

``jcfix lab up`` starts ``python -m toolkit.lab.server`` as a detached process, waits until every
listener is bound, writes an inventory file and a state file in the lab directory
(``platformdirs.user_state_dir("jcfix")/lab``, or ``$JCFIX_LAB_DIR``), and prints how to use it.
``jcfix lab down`` stops that process (by the pid it recorded, after checking it is still the lab).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import platformdirs
import typer
import yaml

from toolkit.cli.envelope import envelope, write_document
from toolkit.cli.output import OUTPUT_FORMATS
from toolkit.errors import JcfixError, UsageError
from toolkit.lab.constants import ADDRESSING_MODES, AUTH_MODES, DEFAULT_BASE_ADDRESS, LAB_PASSWORD, LAB_USERNAME
from toolkit.naming import check_existing_name

app = typer.Typer(help="Run a lab of simulated Windows hosts speaking real WinRM on loopback.", no_args_is_help=True)

STATE_FILE = "lab.json"
INVENTORY_FILE = "inventory.yaml"
READY_FILE = "ready"
JUMPCLOUD_FILE = "jumpcloud.json"  # the lab JumpCloud API's {url, api_key} (toolkit.lab.jcapi)
LOG_FILE = "lab.log"
START_TIMEOUT_S = 120.0


OutputOption = Annotated[str, typer.Option("--output", "-o", help="table (lines of text) or json.")]


def _check_output(output: str) -> None:
    if output not in OUTPUT_FORMATS:
        raise UsageError(f"--output must be one of {', '.join(OUTPUT_FORMATS)}")


def _emit(output: str, text: str, command: str, hosts: list[dict[str, Any]], **extra: Any) -> None:
    """``text`` for people, or the envelope of ``command`` for ``--output json``."""
    if output == "json":
        write_document(envelope(command, hosts, **extra))
    else:
        typer.echo(text)


def _public_state(state: dict[str, Any]) -> dict[str, Any]:
    """The lab's state for JSON: where everything is, never a credential (the API key stays in its file)."""
    shown = {k: v for k, v in state.items() if k != "jumpcloud"}
    if state.get("jumpcloud"):
        shown["jumpcloud"] = {"url": state["jumpcloud"]["url"], "state_file": str(lab_dir() / JUMPCLOUD_FILE)}
    return shown


def _inventory_hosts(path: str) -> list[dict[str, Any]]:
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return [
        {"host": name, "address": entry.get("address"), "port": entry.get("port"), "scheme": entry.get("scheme")}
        for name, entry in (document.get("hosts") or {}).items()
    ]


class LabError(JcfixError):
    """The lab process could not be started or stopped."""

    exit_code = 1


def lab_dir() -> Path:
    """Where the lab keeps its state, inventory and log (``$JCFIX_LAB_DIR`` overrides)."""
    override = os.environ.get("JCFIX_LAB_DIR")
    return Path(override) if override else Path(platformdirs.user_state_dir("jcfix")) / "lab"


def scenario_names() -> list[str]:
    """Every built-in scenario name, ``random`` last (for shell completion)."""
    from toolkit.lab.scenarios import RANDOM_SCENARIO, builtin_names

    return [*builtin_names(), RANDOM_SCENARIO]


def _read_state(directory: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] | None = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state


def _is_lab_process(pid: int) -> bool:
    """Whether ``pid`` is alive and still the lab server (not a reused pid)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        return any(module in cmdline.read_bytes() for module in (b"toolkit.lab.server", b"toolkit.lab.jcapi"))
    return True  # no /proc (macOS): the recorded pid is the best we know


def _usage_text(state: dict[str, Any]) -> str:
    inventory = state["inventory"]
    flags = "--http" if state["scheme"] == "http" else ""
    if state.get("ca_cert"):
        flags = f"--ca-cert {state['ca_cert']}"
    auth = state["auth"]
    return "\n".join(
        [
            f"lab up: {state['hosts']} hosts, scenario {state['scenario']}, {state['scheme']}, {auth} auth "
            f"(pid {state['pid']})",
            f"inventory: {inventory}",
            "",
            "use it:",
            f"  export JCFIX_USER={LAB_USERNAME}",
            f"  export JCFIX_PASSWORD='{LAB_PASSWORD}'",
            f"  jcfix users list --inventory {inventory} {flags} --auth {auth}".rstrip(),
            "stop it:",
            "  jcfix lab down",
            *(
                [
                    "JumpCloud API stand-in (jcfix diagnose, --via jumpcloud, fix jc-*):",
                    f"  export JCFIX_JC_URL={state['jumpcloud']['url']}",
                    f"  export JCFIX_JC_API_KEY='{state['jumpcloud']['api_key']}'",
                    # a multi-tenant stand-in refuses calls without x-org-id, as JumpCloud does
                    *(
                        [f"  export JCFIX_JC_ORG_ID={state['jumpcloud']['org_id']}"]
                        if state["jumpcloud"].get("org_id")
                        else []
                    ),
                ]
                if state.get("jumpcloud")
                else []
            ),
        ]
    )


@app.command("up")
def up(
    scenario: Annotated[str, typer.Option("--scenario", "-s", help="Built-in scenario name or YAML file.")] = "mixed",
    hosts: Annotated[
        int | None, typer.Option("--hosts", "-n", help="Number of hosts (default: the scenario's).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the 'random' scenario.")] = 1,
    tls: Annotated[bool, typer.Option("--tls", help="Serve HTTPS with a fresh self-signed certificate.")] = False,
    auth: Annotated[str, typer.Option("--auth", help=f"Lab auth: {', '.join(AUTH_MODES)}.")] = "basic",
    addressing: Annotated[
        str, typer.Option("--addressing", help="Reach hosts by addresses (127.0.x.y:5985) or ports (127.0.0.1:N).")
    ] = "addresses",
    base_address: Annotated[
        str, typer.Option("--base-address", help="First loopback address in 'addresses' mode.")
    ] = DEFAULT_BASE_ADDRESS,
    port: Annotated[
        int | None,
        typer.Option("--port", help="Port in 'addresses' mode (default 5985, 5986 with --tls; 0: any free port)."),
    ] = None,
    jumpcloud: Annotated[
        bool, typer.Option("--jumpcloud/--no-jumpcloud", help="Also serve a JumpCloud API stand-in over the hosts.")
    ] = True,
    output: OutputOption = "table",
) -> None:
    """Start a lab in the background and write its inventory."""
    _check_output(output)
    if auth not in AUTH_MODES:
        raise UsageError(f"--auth must be one of {', '.join(AUTH_MODES)}, not {auth!r}")
    if addressing not in ADDRESSING_MODES:
        raise UsageError(f"--addressing must be one of {', '.join(ADDRESSING_MODES)}, not {addressing!r}")
    from toolkit.lab.scenarios import RANDOM_SCENARIO, load_hosts  # the lab (pydantic) only when a lab starts

    count = len(load_hosts(scenario, count=hosts, seed=seed))  # bad scenarios fail here, in one line
    # checked in both modes: 'ports' puts every host on the base address, which must be loopback too
    _check_base_address(base_address, count if addressing == "addresses" else 1)
    if port is not None and not 0 <= port <= 65535:
        raise UsageError(f"--port must be 0 (any free port) to 65535, not {port}")
    directory = lab_dir()
    directory.mkdir(parents=True, exist_ok=True)
    state = _read_state(directory)
    if state is not None and _is_lab_process(int(state["pid"])):
        raise UsageError(f"a lab is already running (pid {state['pid']}); run 'jcfix lab down' first")
    for name in (STATE_FILE, READY_FILE, INVENTORY_FILE):
        (directory / name).unlink(missing_ok=True)
    options = ["--scenario", scenario, "--seed", str(seed), "--auth", auth, "--addressing", addressing]
    options += ["--base-address", base_address]
    if hosts is not None:
        options += ["--hosts", str(hosts)]
    if port is not None:
        options += ["--port", str(port)]
    if tls:
        options.append("--tls")
    process = _start(directory, options, jumpcloud=jumpcloud)
    inventory = directory / INVENTORY_FILE
    ca_cert = (yaml.safe_load(inventory.read_text(encoding="utf-8")) or {}).get("ca_cert")
    state = {
        "pid": process.pid,
        "scenario": scenario if scenario == RANDOM_SCENARIO or "/" not in scenario else str(Path(scenario).resolve()),
        "hosts": count,
        "scheme": "https" if tls else "http",
        "auth": auth,
        "inventory": str(inventory),
        "ca_cert": ca_cert,
        "log": str(directory / LOG_FILE),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "jumpcloud": json.loads((directory / JUMPCLOUD_FILE).read_text(encoding="utf-8")) if jumpcloud else None,
    }
    (directory / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    _emit(output, _usage_text(state), "lab up", _inventory_hosts(str(inventory)), lab=_public_state(state))


def _check_user(user: str) -> None:
    """A lab event's ``--user``: a name a local account can have, refused in one line before the lab is asked."""
    try:
        check_existing_name(user)
    except ValueError as exc:
        raise UsageError(f"--user {exc}") from None


def _check_base_address(base_address: str, count: int) -> None:
    """Refuse a ``--base-address`` that is no IPv4 address or whose ``count`` hosts leave 127.0.0.0/8, in one line."""
    from toolkit.lab.server import allocate_addresses  # the rule the lab itself applies, checked before it starts

    try:
        allocate_addresses(count, base_address)
    except ValueError as exc:
        reason = (
            "is not an IPv4 address"
            if "127.0.0.0/8" not in str(exc)  # the address itself did not parse
            else str(exc)
            if base_address.startswith("127.")  # a loopback start whose hosts would run off its end
            else "is not a 127.x.y.z loopback address"
        )
        raise UsageError(f"--base-address {base_address!r}: {reason} (the lab listens on loopback only)") from None


def _start(directory: Path, options: list[str], *, jumpcloud: bool) -> subprocess.Popen[bytes]:
    """Start the lab process detached with the server's ``options``; returns once it is listening.

    With ``jumpcloud``, the same hosts behind the JumpCloud API stand-in, in one process (toolkit.lab.jcapi).
    """
    ready = directory / READY_FILE
    module = "toolkit.lab.jcapi" if jumpcloud else "toolkit.lab.server"
    command = [sys.executable, "-m", module, *options]
    command += ["--inventory", str(directory / INVENTORY_FILE), "--ready-file", str(ready)]
    if jumpcloud:
        (directory / JUMPCLOUD_FILE).unlink(missing_ok=True)
        command += ["--jc-state", str(directory / JUMPCLOUD_FILE)]
    log_path = directory / LOG_FILE
    with log_path.open("wb") as log_stream:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log_stream, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready.exists():
        if process.poll() is not None:
            tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            raise LabError(f"the lab exited with code {process.returncode}: {' / '.join(tail) or 'no output'}")
        if time.monotonic() > deadline:
            process.terminate()
            raise LabError(f"the lab did not start within {START_TIMEOUT_S:.0f}s (log: {log_path})")
        time.sleep(0.1)
    return process


@app.command("down")
def down(output: OutputOption = "table") -> None:
    """Stop the running lab and remove its inventory."""
    _check_output(output)
    directory = lab_dir()
    state = _read_state(directory)
    if state is None:
        _emit(output, "no lab is running", "lab down", [], stopped=None)
        return
    pid = int(state["pid"])
    if _is_lab_process(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _is_lab_process(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.1)
        if _is_lab_process(pid):
            os.kill(pid, signal.SIGKILL)
            _reap(pid)
    for name in (STATE_FILE, READY_FILE, INVENTORY_FILE, JUMPCLOUD_FILE):
        (directory / name).unlink(missing_ok=True)
    _emit(output, f"lab down (pid {pid})", "lab down", [], stopped={"pid": pid})


def _reap(pid: int) -> None:
    """Collect the exit status when the lab is our own child (same process started and stops it)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


@app.command("scenarios")
def scenarios(output: OutputOption = "table") -> None:
    """List the built-in scenarios."""
    from toolkit.lab.scenarios import builtin_names, describe

    _check_output(output)
    listed = [{"name": name, "description": describe(name)} for name in builtin_names()]
    text = "\n".join(f"{s['name']:15} {s['description']}" for s in listed)
    _emit(output, text, "lab scenarios", [], scenarios=listed)


def post_event(entry: dict[str, Any], ca_cert: str | None, event: dict[str, Any]) -> dict[str, Any]:
    """Send one event to a lab host's control channel; returns its JSON answer."""
    import requests

    from toolkit.lab.constants import CONTROL_PATH
    from toolkit.settings import is_loopback

    address = str(entry.get("address", ""))
    if not is_loopback(address):
        raise UsageError(f"{address}: lab events go to loopback lab hosts only")
    host = f"[{address}]" if ":" in address else address
    url = f"{entry.get('scheme', 'http')}://{host}:{entry['port']}{CONTROL_PATH}"
    try:
        response = requests.post(url, json=event, auth=(LAB_USERNAME, LAB_PASSWORD), verify=ca_cert or True, timeout=10)
    except requests.RequestException as exc:
        raise JcfixError(f"the lab host at {url} did not answer: {type(exc).__name__} (is the lab up?)") from None
    if response.status_code != 200:
        detail = response.json().get("error", "") if response.content else ""
        raise UsageError(f"the lab refused the event: HTTP {response.status_code} {detail}".rstrip())
    return dict(response.json())


def _running_inventory() -> dict[str, Any]:
    state = _read_state(lab_dir())
    if state is None:
        raise UsageError("no lab is running: start one with 'jcfix lab up'")
    return yaml.safe_load(Path(state["inventory"]).read_text(encoding="utf-8")) or {}


def _lab_host_entry(inventory: dict[str, Any], name: str) -> dict[str, Any]:
    hosts = inventory.get("hosts") or {}
    if name not in hosts:
        raise UsageError(f"the lab has no host {name!r} (hosts: {', '.join(list(hosts)[:10])})")
    return dict(hosts[name])


def _send_event(host: str, event: dict[str, Any]) -> dict[str, Any]:
    """Post ``event`` to lab host ``host`` of the running lab; its answer."""
    inventory = _running_inventory()
    return post_event(_lab_host_entry(inventory, host), inventory.get("ca_cert"), event)


@app.command("sign-in")
def sign_in_command(
    host: Annotated[str, typer.Option("--host", "-H", help="The lab host (its inventory name).")],
    user: Annotated[str, typer.Option("--user", help="The account that signs in.")],
    output: OutputOption = "table",
) -> None:
    """Simulate a user's sign-in on a running lab host: tasks waiting for it run (e.g. a PIN removal)."""
    _check_output(output)
    _check_user(user)
    answer = _send_event(host, {"event": "sign_in", "user": user})
    ran = list(answer.get("tasks_run") or [])
    text = f"{host}: {user} signed in; tasks run: {', '.join(ran) if ran else 'none'}"
    _emit(output, text, "lab sign-in", [{"host": host, "event": "sign_in", "user": user, "tasks_run": ran}])


@app.command("sign-out")
def sign_out_command(
    host: Annotated[str, typer.Option("--host", "-H", help="The lab host (its inventory name).")],
    user: Annotated[str, typer.Option("--user", help="The account that signs out.")],
    output: OutputOption = "table",
) -> None:
    """Simulate a user's sign-out on a running lab host (its profile unloads)."""
    _check_output(output)
    _check_user(user)
    _send_event(host, {"event": "sign_out", "user": user})
    _emit(output, f"{host}: {user} signed out", "lab sign-out", [{"host": host, "event": "sign_out", "user": user}])


@app.command("agent-sync")
def agent_sync_command(
    host: Annotated[str, typer.Option("--host", "-H", help="The lab host (its inventory name).")],
    output: OutputOption = "table",
) -> None:
    """Make a lab host's JumpCloud agent sync now: accounts it was going to provision appear."""
    _check_output(output)
    answer = _send_event(host, {"event": "agent_sync"})
    created = list(answer.get("provisioned") or [])
    text = f"{host}: agent synced; provisioned: {', '.join(created) if created else 'nothing'}"
    _emit(output, text, "lab agent-sync", [{"host": host, "event": "agent_sync", "provisioned": created}])


@app.command("reenrol-pin")
def reenrol_pin_command(
    host: Annotated[str, typer.Option("--host", "-H", help="The lab host (its inventory name).")],
    user: Annotated[str, typer.Option("--user", help="The account that sets up a Windows Hello PIN again.")],
    output: OutputOption = "table",
) -> None:
    """Simulate a user setting up a Windows Hello PIN again on a running lab host."""
    _check_output(output)
    _check_user(user)
    _send_event(host, {"event": "reenrol_pin", "user": user})
    hosts = [{"host": host, "event": "reenrol_pin", "user": user}]
    _emit(output, f"{host}: {user} set up a PIN", "lab reenrol-pin", hosts)


@app.command("on-battery")
def on_battery_command(
    host: Annotated[str, typer.Option("--host", "-H", help="The lab host (its inventory name).")],
    plugged_in: Annotated[bool, typer.Option("--plugged-in", help="Plug the laptop in instead.")] = False,
    output: OutputOption = "table",
) -> None:
    """Unplug a running lab host's laptop (tasks that do not start on batteries stop starting), or plug it in."""
    _check_output(output)
    _send_event(host, {"event": "on_battery", "value": not plugged_in})
    hosts = [{"host": host, "event": "on_battery", "on_battery": not plugged_in}]
    _emit(output, f"{host}: {'plugged in' if plugged_in else 'on battery'}", "lab on-battery", hosts)
