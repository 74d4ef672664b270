"""``jcfix demo``: the whole job on a built-in lab, with nothing to set up.

It starts simulated Windows hosts on loopback (real WinRM), diagnoses them, previews a fix, applies it,
shows it verified by reading the host back, runs a fix that waits for the user's next sign-in, and
undoes a change: each step is the real ``jcfix`` command, printed before it runs.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, redirect_stdout
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.rule import Rule

from toolkit.cli.envelope import envelope, write_document
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.templates import PREVIEW_SEPARATOR

DEMO_SCENARIO = "mixed"


@contextmanager
def _lab_environment(inventory: Path) -> Iterator[None]:
    """The lab's public credentials for this process only, restored afterwards, and a run history of its own:
    the demo's hosts are gone when it ends, and its runs (a PIN removal still pending on ``lab-pin``) must not
    show up in the admin's history or in the next demo's diagnosis."""
    from toolkit.lab.constants import LAB_PASSWORD, LAB_USERNAME

    saved = {k: os.environ.get(k) for k in ("JCFIX_USER", "JCFIX_PASSWORD", "JCFIX_CONFIG", "JCFIX_HISTORY")}
    no_config = inventory.with_name("no-config.yaml")
    no_config.write_text("{}\n", encoding="utf-8")  # the admin's own config does not apply to the lab
    os.environ.update(
        JCFIX_USER=LAB_USERNAME,
        JCFIX_PASSWORD=LAB_PASSWORD,
        JCFIX_CONFIG=str(no_config),
        JCFIX_HISTORY=str(inventory.with_name("history.sqlite3")),
    )
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _Narrator:
    """Runs the demo's steps and tells them: as text for people, or collected for ``--output json``.

    In JSON mode each step runs with ``-o json`` where the command has it (never for ``--dry-run``, whose
    answer is a script), its stdout is captured, and the whole demo is one envelope with a ``steps`` list.
    """

    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.out = Console()
        self.steps: list[dict[str, Any]] = []
        self.failed = 0

    def say(self, text: str) -> None:
        """A line for people (nothing in JSON mode)."""
        if not self.json_mode:
            self.out.print(text)

    def step(self, title: str, words: list[str], *, head: int | None = None) -> int:
        """Print a step's title and command line, run the command in this process, return its exit code.

        With ``head``, only that many lines of the command's output are shown, then its last lines (a
        script preview is long; the demo shows its top and the parameters sent beside it).
        """
        as_json = self.json_mode and words[0] in _JSON_COMMANDS and "--dry-run" not in words
        words = [*words, "-o", "json"] if as_json else words
        if not self.json_mode:
            self.out.print(Rule(title, align="left"))
            # soft_wrap: a command is never broken into lines (the terminal wraps it; a copy is one line)
            self.out.print(f"[bold]$ {escape(shlex.join(['jcfix', *words]))}[/]", highlight=False, soft_wrap=True)
        captured = io.StringIO()
        with redirect_stdout(captured) if head or self.json_mode else nullcontext():
            code = _run(words)
        if self.json_mode:
            self.steps.append(_step_json(title, words, code, captured.getvalue(), as_json))
        else:
            if head:
                # the exact script: never re-wrapped
                self.out.print(_headed(captured.getvalue(), head), highlight=False, markup=False, soft_wrap=True)
            self.out.print(f"[dim]exit code {code} ({ExitCode(code).name})[/]")
        return code

    def lab_step(self, title: str, facts: dict[str, Any]) -> None:
        """A step the lab plays (a user signs in): what happened, as lines or as one JSON object."""
        if self.json_mode:
            self.steps.append({"title": title, "lab": facts})
            return
        self.out.print(Rule(title, align="left"))
        for key, value in facts.items():
            shown = ", ".join(value) if isinstance(value, list) else ("yes" if value else "no")
            self.out.print(f"{_LAB_LABELS.get(key, key)}: {shown or 'none'}", highlight=False, soft_wrap=True)


_JSON_COMMANDS = ("diagnose", "fix", "undo")
_LAB_LABELS = {
    "tasks_run_at_sign_in": "tasks run at sign-in",
    "tasks_gone_since": "tasks gone since",
    "pin_still_on_host": "PIN still on the host",
}


def _run(words: list[str]) -> int:
    """Run ``jcfix WORDS`` in this process; its exit code."""
    from toolkit.cli.app import build_command

    try:
        code = build_command().main(args=words, prog_name="jcfix", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    return int(code or 0)


def _headed(text: str, head: int) -> str:
    """The first ``head`` lines of a script preview, then its parameters."""
    lines = text.splitlines()
    tail = lines[lines.index(PREVIEW_SEPARATOR) :] if PREVIEW_SEPARATOR in lines else lines[-8:]
    skipped = len(lines) - head - len(tail)
    shown = [*lines[:head], f"    ... {skipped} more lines of the script ...", *tail] if skipped > 0 else lines
    return "\n".join(shown)


def _step_json(title: str, words: list[str], code: int, stdout: str, as_json: bool) -> dict[str, Any]:
    """One step of the demo for ``--output json``: its command, exit code and what it printed."""
    step: dict[str, Any] = {"title": title, "command": shlex.join(["jcfix", *words]), "exit_code": code}
    if as_json:
        try:
            step["result"] = json.loads(stdout)
            return step
        except ValueError:
            pass  # a command that printed no JSON (refused before its output): keep its text
    step["output"] = stdout
    return step


def demo(
    keep: Annotated[bool, typer.Option("--keep", help="Keep the lab running until Enter is pressed.")] = False,
    output: Annotated[str, typer.Option("--output", "-o", help="table or json.")] = "table",
) -> int:
    """Try jcfix on a built-in lab: diagnose, preview, fix, verify, wait for a sign-in, undo."""
    from toolkit.cli.output import OUTPUT_FORMATS
    from toolkit.lab.fleet import LabFleet, write_inventory

    if output not in OUTPUT_FORMATS:
        raise UsageError(f"--output must be one of {', '.join(OUTPUT_FORMATS)}")
    if keep and output == "json":
        raise UsageError("--keep waits for Enter: leave out --output json")
    story = _Narrator(output == "json")
    with tempfile.TemporaryDirectory(prefix="jcfix-demo-") as work:
        inventory = Path(work) / "lab-inventory.yaml"
        with LabFleet.from_scenario(DEMO_SCENARIO) as fleet, _lab_environment(inventory):
            write_inventory(inventory, fleet.server.endpoints, fleet.hosts, fleet.certificate)
            story.say(
                f"[bold]jcfix demo[/]: {len(fleet.hosts)} simulated Windows hosts on loopback, one per takeover or "
                f"provisioning problem (scenario '{DEMO_SCENARIO}'); inventory {inventory}"
            )
            _tell(story, fleet, inventory)
            story.say(NEXT_STEPS)
            if keep:
                story.say(f"lab running; inventory {inventory}; press Enter to stop")
                input()
    if story.json_mode:
        write_document(envelope("demo", scenario=DEMO_SCENARIO, steps=story.steps))
    return ExitCode.OK


NEXT_STEPS = (
    "[bold]Next[/]\n"
    "Start a lab you can keep using:\n"
    "  jcfix lab up --scenario mixed\n"
    "Point jcfix at your own hosts:\n"
    "  jcfix diagnose -H HOST -u ADMIN -j JUMPCLOUD_USER\n"
    "Everything that changes a host takes --dry-run (no connection) and --check\n"
    "(reads, changes nothing)."
)


def _tell(story: _Narrator, fleet: Any, inventory: Path) -> None:
    """The demo's ten steps, in order: each is the real command, or the lab playing the user."""
    from toolkit.lab import readback
    from toolkit.lab.events import advance, sign_in, sign_out

    inv = ["-i", str(inventory)]
    story.step("1. Which JumpCloud users would the agent fail to take over, and why?", ["diagnose", *inv])
    one = ["-i", str(_one_host_inventory(inventory, "lab-case"))]
    story.step("2. Preview the script a fix would send (no connection)", _fix_words(one, "--dry-run"), head=14)
    story.step("3. Check mode: connect, read, report what would change", _fix_words(one, "--check"))
    story.step("4. Apply: backed up on the host, then read back", _fix_words(one, "--run-id", "demo-rename"))
    story.step("5. Apply again: nothing left to do", _fix_words(one))
    story.step("6. Diagnose the host again", ["diagnose", *one, "-j", "Jonathan"])
    pin = ["-i", str(_one_host_inventory(inventory, "lab-pin"))]
    story.step("7. A PIN can only go in the user's own session: pending", ["fix", "remove-pin", *pin, "--user", "pat"])
    (pin_host,) = [h for h in fleet.hosts if h.hostname == "lab-pin"]
    before = set(readback.scheduled_tasks(pin_host))
    ran = sign_in(pin_host, "pat")
    advance(pin_host, 15 * 60)  # the task's SYSTEM clean-up runs 15 minutes after the sign-in
    # certutil -DeleteHelloContainer only marks the container; it goes when the user signs out.
    sign_out(pin_host, "pat")
    cleaned = sorted(before - set(readback.scheduled_tasks(pin_host)))
    story.lab_step(
        "8. (the lab: 'pat' signs in, 15 minutes pass, 'pat' signs out)",
        {
            "tasks_run_at_sign_in": list(ran),
            "tasks_gone_since": cleaned,
            "pin_still_on_host": readback.has_pin(pin_host, "pat"),
        },
    )
    story.step("9. Confirm the PIN is gone", ["fix", "remove-pin", *pin, "--user", "pat", "--check"])
    story.step("10. Undo the rename from its backup on the host", ["undo", *one, "--run-id", "demo-rename"])


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
