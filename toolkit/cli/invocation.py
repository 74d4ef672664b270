"""Suggested commands that run as printed: the way this command was invoked, carried into each one.

The rules write a fix as ``jcfix fix convert-msa --host lab-msa --user maria``: enough to name the host
and the account, not enough to reach the host when it came from ``-i INV`` (the name resolves only through
the inventory) or needed ``--via jumpcloud``, ``--port`` or ``--ca-cert`` on the command line.
:class:`Invocation` records those options as typed (never a password: there is no password option) and
:func:`pasteable` rewrites every finished fix string with them, quoted for the user's shell. Options that
came from the environment or the config file are left to come from there again.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Shell = Literal["posix", "powershell"]

# values key (toolkit.cli.connection._OPTIONS) -> the flag that carries it into a suggested command.
# Not carried: --host/--limit (replaced by the one host), --forks, --dry-run, --junit, --html (a pasted
# fix would overwrite the report files of the run that suggested it).
_CARRIED: tuple[tuple[str, str], ...] = (
    ("login_user", "--login"),  # --login works whether or not the command has its own --user
    ("port", "--port"),
    ("auth", "--auth"),
    ("ca_cert", "--ca-cert"),
    ("cert_pem", "--cert-pem"),
    ("cert_key_pem", "--cert-key-pem"),
    ("connect_timeout", "--connect-timeout"),
    ("read_timeout", "--read-timeout"),
    ("operation_timeout", "--operation-timeout"),
    ("deadline", "--deadline"),
    ("config", "--config"),
    ("history", "--history"),
)
# PowerShell passes these to a native command as one bare word; anything else is single-quoted.
_POWERSHELL_BARE = re.compile(r"[A-Za-z0-9_./:\\=+-]+")
_POWERSHELL_QUOTES = "'\u2018\u2019\u201a\u201b"  # PowerShell treats the typographic ones as ' too


@dataclass(frozen=True)
class Invocation:
    """How the hosts were named and reached on the command line, to repeat in a suggested command.

    Attributes:
        inventory: ``-i`` as typed, or None.
        hosts: each ``--host`` value as typed, by the host's name (``127.0.0.1:5985`` keeps its port).
        options: (flag, value) pairs as typed; value None for a flag without a value.
    """

    inventory: str | None = None
    hosts: Mapping[str, str] = field(default_factory=dict)
    options: tuple[tuple[str, str | None], ...] = ()

    def plus(self, flag: str, value: Any) -> Invocation:
        """This invocation and ``flag value`` (nothing added when ``value`` is None or False)."""
        if value is None or value is False:
            return self
        return replace(self, options=(*self.options, (flag, None if value is True else str(value))))

    def host_words(self, host: str) -> list[str]:
        """The words that select exactly ``host`` the way this invocation reached it."""
        from toolkit.services.targeting import host_pattern  # here: the run history's modules load on use

        words: list[str] = []
        if self.inventory is not None:
            words += ["-i", self.inventory]
        if host in self.hosts:
            words += ["--host", self.hosts[host]]
        if self.inventory is not None:
            # Only this host of the inventory (and of the --host ones): "--limit NAME" would also select
            # the hosts of a group called NAME.
            words += ["--limit", host_pattern(host)]
        return words or ["--host", host]

    def command_words(self, words: Sequence[str]) -> list[str]:
        """``words`` (a jcfix command line) with ``--host NAME`` and the carried options of this invocation.

        Only options the command accepts are added (a JumpCloud API fix takes no WinRM options).
        """
        if not words or words[0] != "jcfix":
            return list(words)
        accepted, depth = _accepted_options(tuple(words[1:]))
        head, rest = list(words[: 1 + depth]), list(words[1 + depth :])
        out: list[str] = []
        index = 0
        while index < len(rest):
            if rest[index] in ("--host", "-H") and index + 1 < len(rest) and "--host" in accepted:
                out += self.host_words(rest[index + 1])
                index += 2
                continue
            out.append(rest[index])
            index += 1
        for flag, value in self.options:
            if flag in accepted and flag not in out:
                out += [flag] if value is None else [flag, value]
        return head + out

    def pasteable(self, documents: Sequence[Mapping[str, Any]], shell: Shell | None = None) -> list[dict[str, Any]]:
        """:func:`pasteable` with this invocation."""
        return pasteable(documents, self, shell)

    def command(self, text: str, shell: Shell | None = None) -> str:
        """``text`` (a POSIX-quoted jcfix command) rewritten by :meth:`command_words`, quoted for ``shell``."""
        try:
            words = shlex.split(text)
        except ValueError:
            return text  # not a command line the rules wrote: shown as it is
        return quote_words(self.command_words(words), shell)


def invocation_from_values(values: Mapping[str, Any], default_via: str) -> Invocation:
    """The :class:`Invocation` of a command's shared connection options (``toolkit.cli.connection``)."""
    from toolkit.inventory import parse_host_arg

    hosts = {parse_host_arg(h).name: h.strip() for h in values.get("host") or []}
    inventory = values.get("inventory")
    options: list[tuple[str, str | None]] = []
    if values.get("via") not in (None, default_via):
        options.append(("--via", str(values["via"])))
    for key, flag in _CARRIED:
        value = values.get(key)
        if value is not None:
            options.append((flag, str(value)))
    if values.get("http") is not None:
        options.append(("--http" if values["http"] else "--https", None))
    if values.get("no_cert_validation"):
        options.append(("--no-cert-validation", None))
    return Invocation(None if inventory is None else str(inventory), hosts, tuple(options))


def default_shell() -> Shell:
    """The shell a suggested command is quoted for: PowerShell on Windows, else POSIX."""
    return "powershell" if os.name == "nt" else "posix"


def quote_words(words: Sequence[str], shell: Shell | None = None) -> str:
    """``words`` as one command line for ``shell`` (default: :func:`default_shell`)."""
    if (shell or default_shell()) == "posix":
        return shlex.join(words)
    return " ".join(_powershell_quote(word) for word in words)


def _powershell_quote(word: str) -> str:
    if _POWERSHELL_BARE.fullmatch(word):
        return word
    quoted = "".join(c + c if c in _POWERSHELL_QUOTES else c for c in word)
    return f"'{quoted}'"


def pasteable(
    documents: Sequence[Mapping[str, Any]], invocation: Invocation, shell: Shell | None = None
) -> list[dict[str, Any]]:
    """Diagnosis documents whose every finding's ``fix`` runs as printed (see :class:`Invocation`)."""
    out = []
    for document in documents:
        findings = [
            {**f, "fix": invocation.command(f["fix"], shell)} if f.get("fix") else dict(f)
            for f in document.get("findings") or []
        ]
        out.append({**document, "findings": findings})
    return out


@functools.lru_cache(maxsize=1)
def _root_command() -> Any:
    """jcfix's click command, built once: each build re-imports and re-builds every command asked for."""
    import typer

    from toolkit.cli.app import app  # at call time: the CLI imports this module

    return typer.main.get_command(app)  # a click command (typer vendors its own click)


@functools.lru_cache(maxsize=64)
def _accepted_options(words: tuple[str, ...]) -> tuple[frozenset[str], int]:
    """The option flags of the jcfix command ``words`` starts with, and how many words name it."""
    # The key holds each fix's host and user, so it misses once per host: the lookup itself must be cheap.
    command: Any = _root_command()
    depth = 0
    while depth < len(words) and words[depth] in getattr(command, "commands", {}):
        command = command.commands[words[depth]]
        depth += 1
    flags = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts) if opt.startswith("-")}
    return frozenset(flags), depth
