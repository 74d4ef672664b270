"""``jcfix demo``: the whole job on a built-in lab, with nothing to set up.

It starts simulated Windows hosts on loopback (real WinRM), diagnoses them, previews a fix, applies it,
shows it verified by reading the host back, runs a fix that waits for the user's next sign-in, and
undoes a change: each step is the real ``jcfix`` command, printed before it runs.
"""

from __future__ import annotations

import io
import os
import shlex
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, redirect_stdout
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.rule import Rule

from toolkit.exitcodes import ExitCode
from toolkit.templates import PREVIEW_SEPARATOR

DEMO_SCENARIO = "mixed"


@contextmanager
def _lab_environment(inventory: Path) -> Iterator[None]:
    """The lab's public credentials for this process only, restored afterwards."""
    from toolkit.lab.constants import LAB_PASSWORD, LAB_USERNAME

    saved = {k: os.environ.get(k) for k in ("JCFIX_USER", "JCFIX_PASSWORD", "JCFIX_CONFIG")}
    os.environ.update(JCFIX_USER=LAB_USERNAME, JCFIX_PASSWORD=LAB_PASSWORD, JCFIX_CONFIG=str(inventory) + ".noconfig")
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _step(out: Console, title: str, words: list[str], *, head: int | None = None) -> int:
    """Print a step's title and command line, run the command in this process, return its exit code.

    With ``head``, only that many lines of the command's output are shown, then its last lines (a
    script preview is long; the demo shows its top and the parameters sent beside it).
    """
    from toolkit.cli.app import app

    out.print(Rule(title, align="left"))
    out.print(f"[bold]$ {shlex.join(['jcfix', *words])}[/]", highlight=False)
    captured = io.StringIO()
    try:
        with redirect_stdout(captured) if head else nullcontext():
            code = app(args=words, prog_name="jcfix", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    if head:
        lines = captured.getvalue().splitlines()
        tail = lines[lines.index(PREVIEW_SEPARATOR) :] if PREVIEW_SEPARATOR in lines else lines[-8:]
        skipped = len(lines) - head - len(tail)
        shown = [*lines[:head], f"    ... {skipped} more lines of the script ...", *tail] if skipped > 0 else lines
        out.print("\n".join(shown), highlight=False, markup=False)
    out.print(f"[dim]exit code {int(code or 0)} ({ExitCode(int(code or 0)).name})[/]")
    return int(code or 0)


def demo(
    keep: Annotated[bool, typer.Option("--keep", help="Keep the lab running until Enter is pressed.")] = False,
) -> int:
    """Try jcfix on a built-in lab: diagnose, preview, fix, verify, wait for a sign-in, undo."""
    from toolkit.lab import readback
    from toolkit.lab.events import advance, sign_in, sign_out
    from toolkit.lab.fleet import LabFleet, write_inventory

    out = Console()
    with tempfile.TemporaryDirectory(prefix="jcfix-demo-") as work:
        inventory = Path(work) / "lab-inventory.yaml"
        with LabFleet.from_scenario(DEMO_SCENARIO) as fleet, _lab_environment(inventory):
            write_inventory(inventory, fleet.server.endpoints, fleet.hosts, fleet.certificate)
            inv = ["-i", str(inventory)]
            out.print(
                f"[bold]jcfix demo[/]: {len(fleet.hosts)} simulated Windows hosts on loopback, one per takeover or "
                f"provisioning problem (scenario '{DEMO_SCENARIO}'); inventory {inventory}"
            )
            _step(out, "1. Which JumpCloud users would the agent fail to take over, and why?", ["diagnose", *inv])
            one = ["-i", str(_one_host_inventory(inventory, "lab-case"))]
            _step(out, "2. Preview the script a fix would send (no connection)", _fix_words(one, "--dry-run"), head=14)
            _step(out, "3. Check mode: connect, read, report what would change", _fix_words(one, "--check"))
            _step(out, "4. Apply: backed up on the host, then read back", _fix_words(one, "--run-id", "demo-rename"))
            _step(out, "5. Apply again: nothing left to do", _fix_words(one))
            _step(out, "6. Diagnose the host again", ["diagnose", *one, "-j", "Jonathan"])
            pin = ["-i", str(_one_host_inventory(inventory, "lab-pin"))]
            pin_words = ["fix", "remove-pin", *pin, "--user", "pat"]
            _step(out, "7. A PIN can only go in the user's own session: pending", pin_words)
            (pin_host,) = [h for h in fleet.hosts if h.hostname == "lab-pin"]
            before = set(readback.scheduled_tasks(pin_host))
            ran = sign_in(pin_host, "pat")
            advance(pin_host, 15 * 60)  # the task's SYSTEM clean-up runs 15 minutes after the sign-in
            # certutil -DeleteHelloContainer only marks the container; it goes when the user signs out.
            sign_out(pin_host, "pat")
            cleaned = sorted(before - set(readback.scheduled_tasks(pin_host)))
            title = "8. (the lab: 'pat' signs in, 15 minutes pass, 'pat' signs out)"
            out.print(Rule(title, align="left"))
            out.print(f"tasks run at sign-in: {', '.join(ran) or 'none'}")
            out.print(f"tasks gone since: {', '.join(cleaned) or 'none'}")
            out.print(f"PIN still on the host: {'yes' if readback.has_pin(pin_host, 'pat') else 'no'}")
            _step(out, "9. Confirm the PIN is gone", ["fix", "remove-pin", *pin, "--user", "pat", "--check"])
            _step(out, "10. Undo the rename from its backup on the host", ["undo", *one, "--run-id", "demo-rename"])
            out.print(Rule("Next", align="left"))
            out.print(
                "Start a lab you can keep using:  jcfix lab up --scenario mixed\n"
                "Point jcfix at your own hosts:   jcfix diagnose -H HOST -u ADMIN -j JUMPCLOUD_USER\n"
                "Everything that changes a host:  --dry-run (no connection) and --check (reads, changes nothing)"
            )
            if keep:
                out.print(f"lab running; inventory {inventory}; press Enter to stop")
                input()
    return ExitCode.OK


def _one_host_inventory(inventory: Path, hostname: str) -> Path:
    """An inventory with only ``hostname`` from the lab's, so a step's output names the host."""
    import yaml

    document = yaml.safe_load(inventory.read_text(encoding="utf-8"))
    document["hosts"] = {hostname: document["hosts"][hostname]}
    path = inventory.with_name(f"{hostname}.yaml")
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _fix_words(connection: list[str], *extra: str) -> list[str]:
    return ["fix", "rename", *connection, "--user", "jonathan", "--to", "Jonathan", *extra]
