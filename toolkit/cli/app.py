"""The ``jcfix`` application: registers each command module and turns errors into one line."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from typer.exceptions import TyperException

from toolkit import __version__
from toolkit.cli import demo, diagnose, fix, lab, play, run, runs, templates_cmd, undo, users, verify
from toolkit.errors import JcfixError
from toolkit.exitcodes import ExitCode

app = typer.Typer(
    name="jcfix",
    help="Find and fix the Windows local-account problems that stop JumpCloud taking over or provisioning users.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command("demo")(demo.demo)
app.command("templates")(templates_cmd.list_templates)
app.command("render")(templates_cmd.render)
app.add_typer(users.app, name="users")
app.command("diagnose")(diagnose.diagnose_command)
app.command("run")(run.run_command)
app.add_typer(fix.app, name="fix")
app.command("undo")(undo.undo_command)
app.add_typer(verify.app, name="verify")
app.add_typer(lab.app, name="lab")
app.add_typer(runs.app, name="runs")
app.command("play")(play.play_command)

# Sub-apps registered by name: each module owns its commands.
SUBCOMMANDS: list[tuple[str, str]] = []


def _version(value: bool) -> None:
    if value:
        typer.echo(f"jcfix {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and transport logs.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """jcfix: JumpCloud takeover and provisioning fixes for Windows fleets."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # pypsrp logs every message it packs and sends in clear at DEBUG, parameter values (passwords)
    # included: its debug output stays off, whatever --debug says. Without --debug, stderr carries only
    # jcfix's own lines: pypsrp's INFO chatter (five lines per host) only with --debug.
    logging.getLogger("pypsrp").setLevel(logging.INFO if debug else logging.WARNING)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: exit with the command's code; bad input is one line on stderr, no traceback."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        code = app(args=args, prog_name="jcfix", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        print("jcfix: aborted", file=sys.stderr)
        code = 130
    except TyperException as exc:  # typer's own usage errors (unknown option, bad value)
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            print(f"jcfix: error: {exc.format_message()}", file=sys.stderr)
        code = ExitCode.USAGE
    except JcfixError as exc:
        if debug:
            raise
        print(f"jcfix: error: {exc}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("jcfix: interrupted", file=sys.stderr)
        code = 130
    except Exception as exc:
        if debug:
            raise
        print(f"jcfix: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        code = ExitCode.INTERNAL
    sys.exit(int(code or 0))
