"""``jcfix secrets set|delete|status``: keep the WinRM password and the JumpCloud API key in the OS keyring.

The value is typed at a hidden prompt (twice) or read as one line from stdin with ``--stdin``, never taken
as an argument, so it stays out of shell history and the process list. It is stored where jcfix reads it:
the WinRM password under service ``jcfix``, user = the sign-in account (``--user``, ``JCFIX_USER`` or the
config file); the API key under service ``jcfix``, user ``JCFIX_JC_API_KEY``. No output shows a value.
"""

from __future__ import annotations

import getpass
import os
import sys
from enum import Enum
from typing import Annotated

import typer

from toolkit.cli.envelope import envelope, write_document
from toolkit.errors import UsageError
from toolkit.secrets import Secret
from toolkit.settings import (
    JC_API_KEY_ENV,
    PASSWORD_ENV,
    delete_from_keyring,
    in_keyring,
    keyring_backend_name,
    load_settings,
    store_in_keyring,
)

app = typer.Typer(help="Store, remove or check the WinRM password and the JumpCloud API key in the OS keyring.")


class SecretName(str, Enum):
    """The secrets jcfix keeps in the keyring."""

    WINRM_PASSWORD = "winrm-password"
    JC_API_KEY = "jc-api-key"


def _secret_names(incomplete: str) -> list[str]:
    return [n.value for n in SecretName if n.value.startswith(incomplete)]


NameArg = Annotated[
    str, typer.Argument(help="Which secret: winrm-password or jc-api-key.", autocompletion=_secret_names)
]


def secret_name(text: str) -> SecretName:
    """``text`` as a :class:`SecretName`; a one-line usage error naming the choices otherwise."""
    try:
        return SecretName(text)
    except ValueError:
        raise UsageError(f"unknown secret {text!r}: winrm-password or jc-api-key") from None
UserOpt = Annotated[
    str | None, typer.Option("--user", "-u", help="The WinRM sign-in account [default: JCFIX_USER or the config].")
]


def keyring_key(text: str, user: str | None) -> tuple[str, str]:
    """The keyring user name the secret ``text`` is stored under, and a label for messages (never the value)."""
    name = secret_name(text)
    if name is SecretName.JC_API_KEY:
        if user:
            raise UsageError("--user is for winrm-password; the JumpCloud API key has one entry")
        return JC_API_KEY_ENV, "the JumpCloud API key"
    account = user or load_settings().user
    if not account:
        raise UsageError("winrm-password needs the account: give --user NAME or set JCFIX_USER")
    return account, f"the WinRM password for {account}"


def _env_name(text: str) -> str:
    return JC_API_KEY_ENV if secret_name(text) is SecretName.JC_API_KEY else PASSWORD_ENV


def read_value(prompt: str, from_stdin: bool) -> Secret:
    """The secret from one stdin line (``--stdin``) or a hidden prompt typed twice; never echoed."""
    if from_stdin:
        value = Secret(sys.stdin.readline().rstrip("\r\n"))
        if not value:
            raise UsageError("--stdin: the first line is empty; nothing stored")
        return value
    if sys.stdin is None or not sys.stdin.isatty():
        raise UsageError("stdin is not a terminal: run interactively, or pipe one line with --stdin")
    first = Secret(getpass.getpass(f"{prompt}: "))
    if not first:
        raise UsageError("empty value; nothing stored")
    if Secret(getpass.getpass(f"{prompt} (again): ")) != first:
        raise UsageError("the two entries differ; nothing stored")
    return first


@app.command("set")
def set_secret(
    name: NameArg,
    user: UserOpt = None,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the value as one line from stdin.")] = False,
) -> None:
    """Store a secret in the OS keyring, typed at a hidden prompt (or one line of stdin with --stdin)."""
    key, label = keyring_key(name, user)
    value = read_value(label[0].upper() + label[1:], stdin)
    store_in_keyring(key, value)
    typer.echo(f"Stored {label} in the keyring ({keyring_backend_name()}).")
    if os.environ.get(_env_name(name)):
        print(f"jcfix: warning: {_env_name(name)} is set and is read before the keyring", file=sys.stderr)


@app.command("delete")
def delete_secret(name: NameArg, user: UserOpt = None) -> None:
    """Remove a secret from the OS keyring."""
    key, label = keyring_key(name, user)
    if delete_from_keyring(key):
        typer.echo(f"Deleted {label} from the keyring.")
    else:
        typer.echo(f"Nothing to delete: the keyring holds no {label.removeprefix('the ')}.")


@app.command("status")
def status(
    name: NameArg,
    user: UserOpt = None,
    output: Annotated[str, typer.Option("--output", "-o", help="Output format: table or json.")] = "table",
) -> None:
    """Say whether a secret is stored and where jcfix will read it from (never the value)."""
    if output not in ("table", "json"):
        raise UsageError("--output must be one of table, json")
    key, label = keyring_key(name, user)
    stored = in_keyring(key)
    env_set = bool(os.environ.get(_env_name(name)))
    source = _env_name(name) if env_set else ("keyring" if stored else "prompt")
    if output == "json":
        secret = {"name": name, "keyring_user": key, "stored": stored, "env_set": env_set, "read_from": source}
        write_document(envelope("secrets status", secret=secret, keyring_backend=keyring_backend_name()))
        return
    typer.echo(f"{label[0].upper() + label[1:]}: {'stored' if stored else 'not stored'} in the keyring")
    typer.echo(f"  keyring: {keyring_backend_name()} (service jcfix, user {key})")
    if env_set:
        typer.echo(f"  {_env_name(name)} is set: jcfix reads it first")
    elif not stored:
        typer.echo("  jcfix will prompt for it (or fail when not run interactively)")
