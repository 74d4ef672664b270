"""Connection settings: command-line flags over ``JCFIX_*`` environment variables over a config file.

The password is the exception: it comes only from ``JCFIX_PASSWORD``, the OS keyring (service
``jcfix``, keyed by user) or an interactive prompt, never from a flag or the config file, so it never
sits in a shell history, a process list or a file someone commits.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

import platformdirs

from toolkit.errors import UsageError
from toolkit.secrets import Secret
from toolkit.textvalues import parse_bool, printable
from toolkit.yamllines import load_yaml

Scheme = Literal["http", "https"]

AUTH_METHODS = ("negotiate", "ntlm", "kerberos", "basic", "certificate", "credssp")
KEYRING_SERVICE = "jcfix"


def port_for(scheme: str) -> int:
    """WinRM's standard port for ``scheme``: 5986 for https, 5985 for http."""
    return 5986 if scheme == "https" else 5985


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach Windows hosts over WinRM.

    Attributes:
        scheme: ``https`` (default, port 5986) or ``http`` (port 5985).
        port: None means the scheme's default port.
        auth: one of :data:`AUTH_METHODS`; ``negotiate`` by default.
        user: the account to sign in with (``DOMAIN\\user`` or ``user@domain`` for domain accounts).
        password: a :class:`Secret`; filled by :func:`resolve_password`.
        cert_validation: verify the host's HTTPS certificate (on by default).
        ca_cert: a CA bundle to verify against, instead of the system store.
        certificate_pem, certificate_key_pem: client certificate files for ``certificate`` auth.
        connect_timeout: seconds to wait for a TCP/TLS connection.
        read_timeout: seconds to wait for one HTTP response; kept above ``operation_timeout``.
        operation_timeout: seconds the host may hold a WSMan Receive before answering "no output yet".
        deadline: seconds one host may take in all, enforced by jcfix whatever pypsrp retries.
    """

    scheme: Scheme = "https"
    port: int | None = None
    auth: str = "negotiate"
    user: str | None = None
    password: Secret | None = None
    cert_validation: bool = True
    ca_cert: str | None = None
    certificate_pem: str | None = None
    certificate_key_pem: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    operation_timeout: int = 20
    deadline: float = 120.0

    def __post_init__(self) -> None:
        if self.scheme not in ("http", "https"):
            raise UsageError(f"scheme must be http or https, not {self.scheme!r}")
        if self.auth not in AUTH_METHODS:
            raise UsageError(f"auth must be one of {', '.join(AUTH_METHODS)}, not {self.auth!r}")
        if self.port is not None and not 1 <= self.port <= 65535:
            raise UsageError(f"port must be 1..65535, not {self.port}")
        for name in ("connect_timeout", "read_timeout", "deadline", "operation_timeout"):
            # nan compares false with everything, so "<= 0" alone would let it (and inf) through.
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise UsageError(f"{name.replace('_', '-')} must be more than 0 seconds (finite), not {value!r}")
        if self.operation_timeout < 1:
            raise UsageError("operation-timeout must be at least 1 second")
        if self.read_timeout <= self.operation_timeout:
            # The host may legitimately hold a Receive for operation_timeout seconds.
            raise UsageError(
                f"read-timeout ({self.read_timeout:g}s) must be longer than operation-timeout "
                f"({self.operation_timeout}s)"
            )
        if self.auth == "certificate" and self.scheme != "https":
            raise UsageError("certificate auth needs https")

    @property
    def default_port(self) -> int:
        return port_for(self.scheme)

    def with_overrides(self, **changes: Any) -> ConnectionSettings:
        """A copy with the non-None ``changes`` applied (validated again)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_FIELD_TYPES = {f.name: f.type for f in fields(ConnectionSettings)}
_ENV_FIELDS = {
    "JCFIX_SCHEME": "scheme",
    "JCFIX_PORT": "port",
    "JCFIX_AUTH": "auth",
    "JCFIX_USER": "user",
    "JCFIX_CA_CERT": "ca_cert",
    "JCFIX_CERT_VALIDATION": "cert_validation",
    "JCFIX_CONNECT_TIMEOUT": "connect_timeout",
    "JCFIX_READ_TIMEOUT": "read_timeout",
    "JCFIX_OPERATION_TIMEOUT": "operation_timeout",
    "JCFIX_DEADLINE": "deadline",
}


def _coerce(name: str, value: Any, origin: str) -> Any:
    kind = str(_FIELD_TYPES[name])
    try:
        if "bool" in kind:
            return parse_bool(value)
        if "int" in kind and "float" not in kind:
            return int(value)
        if "float" in kind:
            return float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{origin}: {name} has an invalid value {value!r}") from None
    return str(value)


def default_config_path() -> Path:
    """The config file: ``JCFIX_CONFIG``, else ``config.yaml`` in the user's config folder."""
    return Path(os.environ.get("JCFIX_CONFIG") or Path(platformdirs.user_config_dir("jcfix")) / "config.yaml")


def load_config_file(path: Path, *, required: bool = False) -> dict[str, Any]:
    """Settings from a YAML config file (``connection:`` mapping).

    A missing file is empty only when it is the default location; one named by ``--config`` or
    ``JCFIX_CONFIG`` (``required``) must exist, so a typo in its name is not silently ignored.
    """
    try:
        present = path.exists()
    except OSError:  # a name the OS refuses (too long...): reading it below says why
        present = True
    if not present:
        if required:
            raise UsageError(f"{printable(path)}: no such config file")
        return {}
    document, locations = load_yaml(path, "config file")
    document = {} if document is None else document
    if not isinstance(document, dict):
        raise UsageError(f"{locations.where(())}: a config file is a mapping with 'connection:'")
    for key in document:
        if key != "connection":
            hint = (
                "settings go under connection:" if str(key).replace("-", "_") in _FIELD_TYPES else "known: connection"
            )
            raise UsageError(f"{locations.where((key,))}: unknown key {key!r} ({hint})")
    section = document.get("connection") or {}
    if not isinstance(section, dict):
        raise UsageError(f"{locations.where(('connection',))}: 'connection' must be a mapping of settings")
    values: dict[str, Any] = {}
    for key, value in section.items():
        name = str(key).replace("-", "_")
        where = locations.where(("connection", key))
        if name == "password":
            raise UsageError(f"{where}: passwords are not read from files; use JCFIX_PASSWORD or the keyring")
        if name not in _FIELD_TYPES:
            raise UsageError(f"{where}: unknown setting {key!r}{_nearest(name, _FIELD_TYPES)}")
        values[name] = _coerce(name, value, where)
    return values


def _nearest(name: str, known: Iterable[str]) -> str:
    """`` (did you mean X?)`` with the nearest known name, else `` (known: ...)``."""
    import difflib

    near = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {near[0]}?)" if near else f" (known: {', '.join(sorted(known))})"


def check_ca_cert(path: str, origin: str = "--ca-cert") -> None:
    """Refuse (:class:`UsageError`) a CA bundle that is missing or unreadable, once, before anything connects."""
    try:
        with open(path, "rb") as stream:
            stream.read(1)
    except OSError as exc:
        raise UsageError(f"{origin} {printable(path)}: cannot read the CA bundle: {exc.strerror or exc}") from None


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> ConnectionSettings:
    """Settings from flags, then environment, then the config file, then defaults."""
    environ = os.environ if environ is None else environ
    named = environ.get("JCFIX_CONFIG")  # named by the user: it must exist, as with --config
    path = config_path or (Path(named) if named else default_config_path())
    values = load_config_file(path, required=config_path is not None or bool(named))
    for env_name, name in _ENV_FIELDS.items():
        if environ.get(env_name):
            values[name] = _coerce(name, environ[env_name], env_name)
    for name, value in (flags or {}).items():
        if value is not None:
            values[name] = value
    return ConnectionSettings(**values)


def resolve_password(
    settings: ConnectionSettings,
    *,
    environ: Mapping[str, str] | None = None,
    prompt: bool = True,
) -> ConnectionSettings:
    """Fill in the password from ``JCFIX_PASSWORD``, the keyring, or a prompt (in that order).

    ``certificate`` auth needs none. Raises :class:`UsageError` when no source has one, so a run
    stops before anything connects.
    """
    if settings.auth == "certificate":
        if not (settings.certificate_pem and settings.certificate_key_pem):
            raise UsageError("certificate auth needs --cert-pem and --cert-key-pem")
        return settings
    if not settings.user:
        raise UsageError("no user: give --user or set JCFIX_USER")
    environ = os.environ if environ is None else environ
    if environ.get("JCFIX_PASSWORD"):
        return replace(settings, password=Secret(environ["JCFIX_PASSWORD"]))
    stored = _keyring_password(settings.user)
    if stored:
        return replace(settings, password=Secret(stored))
    if prompt:
        import sys

        if sys.stdin is not None and sys.stdin.isatty():
            import getpass

            return replace(settings, password=Secret(getpass.getpass(f"Password for {settings.user}: ")))
    raise UsageError(
        f"no password for {settings.user}: set JCFIX_PASSWORD, store it in the keyring, or run interactively"
    )


def read_secret(env_name: str, label: str, *, environ: Mapping[str, str] | None = None) -> Secret:
    """A secret from ``env_name``, else the keyring (service ``jcfix``, key ``env_name``), else a prompt.

    Raises :class:`UsageError` naming the variable when none has it, before anything connects.
    """
    environ = os.environ if environ is None else environ
    if environ.get(env_name):
        return Secret(environ[env_name])
    stored = _keyring_password(env_name)
    if stored:
        return Secret(stored)
    import sys

    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return Secret(getpass.getpass(f"{label}: "))
    raise UsageError(f"{label} is needed: set {env_name} or store it in the keyring (service jcfix, user {env_name})")


def is_loopback(address: str) -> bool:
    """Whether ``address`` is a loopback IP (127.0.0.0/8, ::1) or ``localhost``."""
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def check_cleartext(address: str, scheme: str, auth: str) -> None:
    """Refuse Basic auth over plain HTTP except on loopback (the lab): it would send the password in clear."""
    if auth == "basic" and scheme == "http" and not is_loopback(address):
        raise UsageError(f"{address}: Basic auth over plain HTTP would send the password in clear; use HTTPS")


def _keyring_password(user: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # keyring is a dependency, but a broken backend must not stop a run
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, user)
    except (KeyringError, RuntimeError, OSError):
        return None


# What `jcfix secrets` stores, keyed where the readers above look: the WinRM password under the sign-in
# user's name (resolve_password), other secrets under their environment variable's name (read_secret).
PASSWORD_ENV = "JCFIX_PASSWORD"
JC_API_KEY_ENV = "JCFIX_JC_API_KEY"  # toolkit.jumpcloud.client.API_KEY_ENV reads this key


class KeyringUnavailable(UsageError):
    """No usable OS keyring (no backend, locked, or refused)."""


@contextlib.contextmanager
def _keyring_errors() -> Iterator[None]:
    """Turn a keyring failure into one line naming the failure, never the value being stored."""
    from keyring.errors import KeyringError

    try:
        yield
    except (KeyringError, RuntimeError, OSError) as exc:
        raise KeyringUnavailable(f"the OS keyring refused ({type(exc).__name__}): {exc}") from None


def store_in_keyring(key: str, value: Secret) -> None:
    """Store ``value`` in the keyring (service ``jcfix``, user ``key``); raises :class:`KeyringUnavailable`."""
    import keyring

    with _keyring_errors():
        keyring.set_password(KEYRING_SERVICE, key, value.reveal())


def delete_from_keyring(key: str) -> bool:
    """Remove the keyring entry for ``key``; False when there was none."""
    import keyring
    from keyring.errors import PasswordDeleteError

    with _keyring_errors():
        try:
            keyring.delete_password(KEYRING_SERVICE, key)
        except PasswordDeleteError:
            return False
    return True


def in_keyring(key: str) -> bool:
    """Whether the keyring holds a value for ``key`` (the value itself is not returned)."""
    import keyring

    with _keyring_errors():
        return bool(keyring.get_password(KEYRING_SERVICE, key))


def keyring_backend_name() -> str:
    """The keyring backend in use (``SecretService Keyring``, ``Windows WinVaultKeyring``...)."""
    try:
        import keyring

        backend = keyring.get_keyring()
    except Exception:  # a broken backend is reported by name, whatever it raised
        return "none"
    return str(getattr(backend, "name", type(backend).__name__))
