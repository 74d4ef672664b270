"""The ``jcfix`` application: registers each command module and turns errors into one line."""

from __future__ import annotations

import logging
import re
import sys
import traceback
from typing import Annotated

import typer
from typer import _click as click
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.exceptions import TyperException

from toolkit import __version__
from toolkit.cli.coercion import take_values_as_given
from toolkit.cli.completion import attach_command_completers, attach_completers
from toolkit.cli.helptext import polish, polish_command, walk
from toolkit.cli.lazy import LazyCommand, LazyGroup
from toolkit.errors import JcfixError
from toolkit.exitcodes import ExitCode
from toolkit.signals import StoppedBySignal
from toolkit.textvalues import printable

# Every command, in --help order: its module is imported only when the command runs, completes or shows
# its own --help. ``help`` is the line `jcfix --help` lists (tests/cli_startup checks it against the
# command's own docstring, polished).
COMMANDS: tuple[LazyCommand, ...] = (
    LazyCommand(
        "demo",
        "toolkit.cli.demo:demo",
        "Try jcfix on a built-in lab: diagnose, preview, fix, verify, wait for a sign-in, undo.",
    ),
    LazyCommand(
        "templates",
        "toolkit.cli.templates_cmd:list_templates",
        "List every action: its template, parameters and whether it changes the host.",
    ),
    LazyCommand(
        "render",
        "toolkit.cli.templates_cmd:render",
        "Print the rendered script and the parameter values that would be sent with it.",
    ),
    LazyCommand(
        "diagnose",
        "toolkit.cli.diagnose:diagnose_command",
        "Find every takeover and provisioning blocker, with the command that fixes each.",
    ),
    LazyCommand("run", "toolkit.cli.run:run_command", "Run a read-only action on the hosts and print its data."),
    LazyCommand(
        "undo",
        "toolkit.cli.undo:undo_command",
        "Restore what a jcfix run changed, from the backups it saved on each host.",
    ),
    LazyCommand(
        "play",
        "toolkit.cli.play:play_command",
        "Run a playbook (check mode unless --apply) with a live count and a final recap per host.",
    ),
    LazyCommand("users", "toolkit.cli.users:app", "List the local user accounts of Windows hosts."),
    LazyCommand(
        "fix", "toolkit.cli.fix:app", "Fix what diagnose found: previewed (--dry-run, --check), backed up, verified."
    ),
    LazyCommand("verify", "toolkit.cli.verify:app", "Confirm that a fix or a binding took effect."),
    LazyCommand("lab", "toolkit.cli.lab:app", "Run a lab of simulated Windows hosts speaking real WinRM on loopback."),
    LazyCommand("runs", "toolkit.cli.runs:app", "Show the run history: every run, each host and each step's result."),
    LazyCommand(
        "secrets",
        "toolkit.cli.secrets_cmd:app",
        "Store, remove or check the WinRM password and the JumpCloud API key in the OS keyring.",
    ),
)


class JcfixGroup(LazyGroup):
    """The root group: :data:`COMMANDS`, each polished and given its completers when first built."""

    lazy_commands = COMMANDS

    def prepare(self, command: click.Command) -> click.Command:
        """One voice, completers and plain text values for the command and everything under it."""
        attach_completers(command)
        for _path, each in walk(command):
            take_values_as_given(each)
        return polish(command)


app = typer.Typer(
    name="jcfix",
    help="Find and fix the Windows local-account problems that stop JumpCloud taking over or provisioning users.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    cls=JcfixGroup,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"jcfix {__version__}")
        raise typer.Exit()


class _StderrLines(logging.Handler):
    """jcfix's own log records as ``jcfix: message`` lines on whatever ``sys.stderr`` is when they are emitted."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"jcfix: {record.getMessage()}\n")
        except Exception:  # a log line must never end a run
            self.handleError(record)


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and transport logs.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """jcfix: JumpCloud takeover and provisioning fixes for Windows fleets."""
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    else:
        # stderr carries only jcfix's own lines: toolkit's warnings as "jcfix: ...", and library records
        # (pypsrp logs a whole traceback at ERROR for each retried request to a hung host) go nowhere.
        toolkit_log = logging.getLogger("toolkit")
        if not any(isinstance(h, _StderrLines) for h in toolkit_log.handlers):
            toolkit_log.addHandler(_StderrLines())
        toolkit_log.setLevel(logging.WARNING)
        root_log = logging.getLogger()
        if not root_log.handlers:  # a handler on the root keeps logging's last resort from printing library lines
            root_log.addHandler(logging.NullHandler())
    # pypsrp logs every message it packs and sends in clear at DEBUG, parameter values (passwords)
    # included: its debug output stays off, whatever --debug says.
    logging.getLogger("pypsrp").setLevel(logging.INFO if debug else logging.CRITICAL)


def build_command() -> click.Command:
    """The click command tree of ``app``, in one voice (see :mod:`toolkit.cli.helptext`), with completers."""
    command = typer.main.get_command(app)
    # The root alone: each command is polished and given completers when it is built (JcfixGroup.prepare).
    attach_command_completers(command)
    take_values_as_given(command)
    return polish_command(command)


# click's and typer's wording, made short enough for one 80-column line (what was wrong, not how it was found).
_REWORDS = (
    (r"Value error, |, unable to parse .*$", ""),
    (r"^Invalid value for '([^']+)': Input should be (.*)$", r"\1 must be \2"),
    (r" \(Possible options: (.*)\)$", r" (did you mean \1?)"),
)


def _command_path(root: click.Command, args: list[str]) -> str:
    """``jcfix`` and the subcommand names that start ``args`` (for errors raised without a context)."""
    path, command = ["jcfix"], root
    for arg in args:
        sub = (getattr(command, "commands", None) or {}).get(arg)
        if sub is None:
            if arg.startswith("-"):
                continue
            break
        path.append(arg)
        command = sub
    return " ".join(path)


def usage_line(exc: UsageError, root: click.Command | None = None, args: list[str] | None = None) -> str:
    """A click usage error as one ``jcfix: error:`` line naming the command, with the help hint if it fits."""
    message = " ".join(exc.format_message().split()).rstrip(".")
    for pattern, replacement in _REWORDS:
        message = re.sub(pattern, replacement, message)
    message = message[:1].lower() + message[1:]
    if exc.ctx is not None:
        path = exc.ctx.command_path
    else:
        path = _command_path(root, args or []) if root is not None else "jcfix"
    where = path.partition(" ")[2]
    if where.startswith("secrets") and "unexpected extra argument" in message:
        # Someone typed the secret itself: click would echo it back.
        message = "give the value at the prompt or with --stdin"
    line = f"jcfix: error: {where + ': ' if where else ''}{printable(message)}"
    hint = f" (see '{path} --help')"
    return line + hint if len(line + hint) <= 80 else line


def main(argv: list[str] | None = None) -> None:
    """Console entry point: exit with the command's code; bad input is one line on stderr, no traceback."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    command = build_command()
    try:
        code = command.main(args=args, prog_name="jcfix", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        print("jcfix: aborted", file=sys.stderr)
        code = 130
    except NoArgsIsHelpError as exc:  # bare `jcfix` (or `jcfix lab`): the help, on stdout like --help
        print(exc.format_message())
        code = ExitCode.USAGE
    except UsageError as exc:  # unknown option, bad value, missing argument: one line
        print(usage_line(exc, command, args), file=sys.stderr)
        code = ExitCode.USAGE
    except TyperException as exc:  # typer's other errors (a file it could not open)
        print(f"jcfix: error: {printable(exc.format_message())}", file=sys.stderr)
        code = ExitCode.USAGE
    except StoppedBySignal as exc:  # the run ended as asked: its hosts and reports are recorded
        print(f"jcfix: {exc}", file=sys.stderr)
        code = exc.exit_code
    except JcfixError as exc:
        if debug:  # the traceback, then the same line and the same code as without --debug
            traceback.print_exc()
        # printable: a value quoted in a message (a --user with a newline) never starts a line of its own
        print(f"jcfix: error: {printable(str(exc))}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("jcfix: interrupted", file=sys.stderr)
        code = 130
    except Exception as exc:
        if debug:
            traceback.print_exc()
            print(f"jcfix: internal error: {type(exc).__name__}: {printable(str(exc))}", file=sys.stderr)
        else:
            detail = f"{type(exc).__name__}: {printable(str(exc))}"
            print(f"jcfix: internal error: {detail} (run with --debug for details)", file=sys.stderr)
        code = ExitCode.INTERNAL
    sys.exit(int(code or 0))
