"""The options every host-touching command shares, added by one decorator.

``@connection_options`` adds ``--host``, ``--inventory``, ``--limit``, the WinRM settings, ``--forks`` and
``--dry-run`` to a command and hands it one :class:`Connection` instead, so each command module stays
small and all of them spell the options the same way.
"""

from __future__ import annotations

import functools
import inspect
import sys
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from toolkit.actions._fixbase import check_run_id
from toolkit.cli.invocation import Invocation, invocation_from_values
from toolkit.errors import UsageError
from toolkit.exitcodes import ExitCode
from toolkit.inventory import resolve_targets
from toolkit.naming import check_jumpcloud_name, has_control
from toolkit.report import ReportOptions
from toolkit.services.targeting import Condition, parse_where, run_resolver, where_fresh, where_from_run
from toolkit.settings import AUTH_METHODS, ConnectionSettings, check_ca_cert, check_cleartext, load_settings
from toolkit.textvalues import plural, printable
from toolkit.transport.base import HostTarget, resolve_endpoint
from toolkit.transport.registry import DEFAULT_TRANSPORT, get_transport, transport_names

F = TypeVar("F", bound=Callable[..., Any])
PANEL = "Connection"
REPORTS_PANEL = "Reports"


@dataclass(frozen=True)
class Connection:
    """Where a command runs and how: resolved targets, settings, and the run mode."""

    targets: list[HostTarget]
    settings: ConnectionSettings
    forks: int
    dry_run: bool
    reports: ReportOptions = ReportOptions()  # noqa: RUF009 (frozen: one shared default is safe)
    via: str = DEFAULT_TRANSPORT  # a name in toolkit.transport.registry: how scripts reach the hosts
    # The options as typed, for suggested commands that must run as printed (toolkit.cli.invocation).
    invocation: Invocation = Invocation()  # noqa: RUF009 (frozen: one shared default is safe)
    # Settings already made ready to connect (a --where pass asked for the password): not asked twice.
    prepared: ConnectionSettings | None = field(default=None, repr=False)

    def only(self, targets: list[HostTarget]) -> Connection:
        """The same connection, limited to ``targets`` (for polls that skip finished hosts)."""
        return replace(self, targets=targets)

    def with_password(self) -> ConnectionSettings:
        """The settings with the password resolved; call only when about to connect."""
        # The transport knows what it needs: a WinRM password, or the JumpCloud API key instead.
        if self.prepared is not None:
            return self.prepared
        return get_transport(self.via).prepare(self.settings)


def _option(*names: str, help: str, **kwargs: Any) -> Any:
    return typer.Option(*names, help=help, rich_help_panel=PANEL, **kwargs)


# name -> (annotation, default) of each shared option, in --help order.
_OPTIONS: dict[str, tuple[Any, Any]] = {
    "host": (
        Annotated[list[str] | None, _option("--host", "-H", help="Host to run on (NAME or NAME:PORT); repeatable.")],
        None,
    ),
    "inventory": (
        Annotated[Path | None, _option("--inventory", "-i", help="Inventory of hosts (YAML or .csv).", exists=False)],
        None,
    ),
    "limit": (
        Annotated[
            str | None,
            _option(
                "--limit",
                "-l",
                help="Only these hosts: comma-separated host or group name patterns (pc-*,berlin); !PATTERN excludes;"
                " @RUN:failed (or :changed, :all) are the hosts of a past run; @=NAME is exactly host NAME.",
            ),
        ],
        None,
    ),
    "where": (
        Annotated[
            list[str] | None,
            _option(
                "--where",
                help="Only hosts with a finding like this: finding=CODE or severity=LEVEL; repeatable (all must hold).",
            ),
        ],
        None,
    ),
    "from_run": (
        Annotated[
            str | None,
            _option("--from-run", help="Judge --where by the findings of this run (history), not a fresh diagnosis."),
        ],
        None,
    ),
    "login_user": (
        Annotated[str | None, _option("--user", "-u", "--login", help="Account to sign in with [env: JCFIX_USER].")],
        None,
    ),
    "port": (Annotated[int | None, _option("--port", help="WinRM port (default 5986, or 5985 with --http).")], None),
    "http": (
        Annotated[bool | None, _option("--http/--https", help="Plain HTTP (5985) instead of HTTPS (5986).")],
        None,
    ),
    "auth": (
        Annotated[str | None, _option("--auth", help=f"Authentication: {', '.join(AUTH_METHODS)}.")],
        None,
    ),
    "ca_cert": (
        Annotated[str | None, _option("--ca-cert", help="CA bundle for the hosts' certificates.")],
        None,
    ),
    "no_cert_validation": (
        Annotated[bool, _option("--no-cert-validation", help="Do not verify HTTPS certificates (labs only).")],
        False,
    ),
    "cert_pem": (Annotated[str | None, _option("--cert-pem", help="Client certificate for certificate auth.")], None),
    "cert_key_pem": (Annotated[str | None, _option("--cert-key-pem", help="Its private key.")], None),
    "connect_timeout": (
        Annotated[float | None, _option("--connect-timeout", help="Seconds to wait for a connection.")],
        None,
    ),
    "read_timeout": (
        Annotated[float | None, _option("--read-timeout", help="Seconds to wait for one HTTP response.")],
        None,
    ),
    "operation_timeout": (
        Annotated[int | None, _option("--operation-timeout", help="Seconds a host may hold a WSMan Receive.")],
        None,
    ),
    "deadline": (
        Annotated[float | None, _option("--deadline", help="Seconds one host may take in all (default 120).")],
        None,
    ),
    "config": (
        Annotated[Path | None, _option("--config", help="Config file [env: JCFIX_CONFIG].")],
        None,
    ),
    "junit": (
        Annotated[
            Path | None, typer.Option("--junit", help="Write a JUnit XML report here.", rich_help_panel=REPORTS_PANEL)
        ],
        None,
    ),
    "html": (
        Annotated[
            Path | None,
            typer.Option("--html", help="Write a self-contained HTML report here.", rich_help_panel=REPORTS_PANEL),
        ],
        None,
    ),
    "history": (
        Annotated[
            Path | None,
            typer.Option(
                "--history",
                help="Run-history database [env: JCFIX_HISTORY; default: the user's data directory].",
                rich_help_panel=REPORTS_PANEL,
            ),
        ],
        None,
    ),
    "via": (
        Annotated[
            str,
            _option(
                "--via",
                help=f"How scripts reach the hosts: {' or '.join(transport_names())} (jumpcloud: through "
                "JumpCloud Commands; needs JCFIX_JC_API_KEY, no WinRM).",
            ),
        ],
        DEFAULT_TRANSPORT,
    ),
    # 256: the adaptive window's cap (toolkit.window.DEFAULT_FORKS; not imported: start-up stays light).
    "forks": (
        Annotated[
            int,
            _option(
                "--forks", help="Most hosts at once (the window starts there and adapts below it).", min=1, max=1024
            ),
        ],
        256,
    ),
    "dry_run": (
        Annotated[
            bool, _option("--dry-run", help="Print each host's exact script and parameters; connect to nothing.")
        ],
        False,
    ),
}


_LOGIN_ONLY = inspect.Parameter(
    "login_user",
    inspect.Parameter.KEYWORD_ONLY,
    annotation=Annotated[str | None, _option("--login", help="Account to sign in with [env: JCFIX_USER].")],
    default=None,
)


def _apply_where(connection: Connection, conditions: list[Condition], from_run: str | None) -> Connection:
    """``connection`` limited to the hosts ``--where`` selects (see :mod:`toolkit.services.targeting`)."""
    if from_run is not None:
        found = where_from_run(connection.targets, conditions, connection.reports.history, from_run)
    elif connection.dry_run:
        raise UsageError("--where with --dry-run needs --from-run RUN (a fresh diagnosis would connect)")
    else:  # the diagnosis pass is recorded in the history, but writes no --junit/--html of its own
        connection = replace(connection, prepared=connection.with_password())
        found = where_fresh(replace(connection, reports=ReportOptions(history=connection.reports.history)), conditions)
    said = " ".join(f"--where {c}" for c in conditions)
    if found.undiagnosed:
        left = ", ".join(found.undiagnosed[:3]) + (", ..." if len(found.undiagnosed) > 3 else "")
        judged = f"{plural(len(found.undiagnosed), 'host')} not judged by {found.source}"
        print(f"jcfix: warning: {judged}: {left}", file=sys.stderr)
    print(
        f"jcfix: {said}: {len(found.targets)} of {plural(len(connection.targets), 'host')}, by {found.source}",
        file=sys.stderr,
    )
    if not found.targets:
        raise typer.Exit(ExitCode.OK)  # nothing has that finding: nothing to do
    return connection.only(found.targets)


def _check_endpoints(targets: list[HostTarget], settings: ConnectionSettings) -> None:
    """Refuse cleartext credentials and missing or unreadable CA bundles, once, before anything connects."""
    ca_certs: set[str] = set()
    for target in targets:
        end = resolve_endpoint(target, settings)
        check_cleartext(end.address, end.scheme, end.auth)
        if end.ca_cert is not None and end.ca_cert not in ca_certs:
            origin = "--ca-cert" if end.ca_cert == settings.ca_cert else f"host {target.name}: ca_cert"
            check_ca_cert(end.ca_cert, origin)
            ca_certs.add(end.ca_cert)
    if settings.ca_cert is not None and settings.ca_cert not in ca_certs:
        check_ca_cert(settings.ca_cert)


LOGIN_MAX = 256


def _check_pem_file(option: str, given: str) -> None:
    """A client certificate or key file: named, readable and a file, checked once before anything connects."""
    if not given.strip() or has_control(given) or len(given) > 4096:
        raise UsageError(f"{option} must name a PEM file")
    try:
        with Path(given).open("rb"):
            pass
    except IsADirectoryError:
        raise UsageError(f"{option} {printable(given)}: is a folder, not a PEM file") from None
    except OSError as exc:  # missing, unreadable, a name too long for the file system
        raise UsageError(f"{option} {printable(given)[:80]}: cannot be read ({exc.strerror})") from None


def checked_jc_users(values: Sequence[str] | None) -> list[str]:
    """``--jc-user`` values, each a JumpCloud username to look for (not empty, no control characters); a
    :class:`UsageError` before anything connects. Long or spaced names are the diagnosis's to report."""
    for value in values or []:
        try:
            check_jumpcloud_name(value)
        except ValueError as exc:
            raise UsageError(f"--jc-user {exc}") from None
    return list(values or [])


def _build_connection(values: dict[str, Any], *, hosts_optional: bool = False) -> Connection:
    login = values["login_user"]
    # only control characters and length: a sign-in may be DOMAIN\user or a UPN, so the local-name rules
    # do not apply; 256 is beyond any Windows sign-in name (a UPN's user part and domain included)
    if login is not None and (has_control(login) or not login.strip() or len(login) > LOGIN_MAX):
        raise UsageError(f"--login must be a sign-in name: not empty, no control characters, at most {LOGIN_MAX} long")
    for option, given in (("--cert-pem", values["cert_pem"]), ("--cert-key-pem", values["cert_key_pem"])):
        if given is not None:
            _check_pem_file(option, given)
    conditions = parse_where(values.get("where") or [])  # bad input stops here, before anything connects
    if values.get("from_run") is not None and not conditions:
        raise UsageError("--from-run RUN says which run's findings --where judges by: give --where too")
    if values["no_cert_validation"]:
        print("jcfix: warning: HTTPS certificates are not verified (--no-cert-validation)", file=sys.stderr)
    flags = {
        "user": values["login_user"],
        "port": values["port"],
        "scheme": None if values["http"] is None else ("http" if values["http"] else "https"),
        "auth": values["auth"],
        "ca_cert": values["ca_cert"],
        "cert_validation": False if values["no_cert_validation"] else None,
        "certificate_pem": values["cert_pem"],
        "certificate_key_pem": values["cert_key_pem"],
        "connect_timeout": values["connect_timeout"],
        "read_timeout": values["read_timeout"],
        "operation_timeout": values["operation_timeout"],
        "deadline": values["deadline"],
    }
    settings = load_settings(flags, config_path=values["config"])
    if hosts_optional and not values["host"] and values["inventory"] is None:
        targets: list[HostTarget] = []  # the command finds its hosts itself (jcfix undo: in the run history)
    else:
        resolver = run_resolver(values["history"])  # --limit @RUN:failed reads the run history
        targets = resolve_targets(values["host"] or [], values["inventory"], values["limit"], resolver)
    _check_endpoints(targets, settings)
    reports = ReportOptions(junit=values["junit"], html=values["html"], history=values["history"])
    if values["via"] not in transport_names():  # checked by name: loading the transport waits for the run
        raise UsageError(f"--via must be one of {', '.join(transport_names())}, not {values['via']!r}")
    connection = Connection(
        targets=targets,
        settings=settings,
        forks=values["forks"],
        dry_run=values["dry_run"],
        reports=reports,
        via=values["via"],
        invocation=invocation_from_values(values, DEFAULT_TRANSPORT),
    )
    if conditions and not targets:
        raise UsageError("--where needs --host or --inventory (the hosts to judge)")
    if conditions:
        connection = _apply_where(connection, conditions, values.get("from_run"))
    return connection


@typing.overload
def connection_options(func: F, *, hosts_optional: bool = False) -> Callable[..., Any]: ...


@typing.overload
def connection_options(
    func: None = None, *, hosts_optional: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...


def connection_options(func: F | None = None, *, hosts_optional: bool = False) -> Any:
    """Add the shared options to ``func``, which takes ``connection: Connection`` instead.

    With ``hosts_optional`` (``@connection_options(hosts_optional=True)``), no ``--host`` and no
    ``--inventory`` give an empty ``connection.targets`` instead of a usage error.
    """
    if func is None:
        return functools.partial(connection_options, hosts_optional=hosts_optional)
    signature = inspect.signature(func)
    # An optional --run-id names the new run (fix, play); undo's, required, names an earlier one: only the
    # former is checked, and refused when the run history already holds it (issue 15 item 8).
    run_id = signature.parameters.get("run_id")
    names_run = run_id is not None and run_id.default is None
    # Resolve the command's own annotations (strings under postponed evaluation) in its module.
    hints = typing.get_type_hints(func, include_extras=True)
    own = [
        p.replace(annotation=hints.get(name, p.annotation))
        for name, p in signature.parameters.items()
        if name != "connection"
    ]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        for name, (annotation, default) in _OPTIONS.items()
    ]
    if any(p.name == "user" for p in own):
        # The command's --user names the account to act on (jcfix fix rename --user OLD): the sign-in
        # account is then --login (or JCFIX_USER) only.
        shared = [_LOGIN_ONLY if p.name == "login_user" else p for p in shared]

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in _OPTIONS}
        if names_run:  # before _build_connection: --where may connect to diagnose
            kwargs["run_id"] = check_run_id(kwargs["run_id"], values["history"])
        return func(connection=_build_connection(values, hosts_optional=hosts_optional), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=own + shared)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in own + shared}
    return wrapper
