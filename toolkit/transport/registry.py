"""The transports jcfix can run scripts through, by name (``--via``): each module registers its own.

A transport module calls :func:`register` with a :class:`Transport` when it is imported. The built-in
modules are imported only when their transport is first asked for, so a command that connects to nothing
does not load pypsrp or the JumpCloud client. The run's settings say which transport opens the sessions:
:func:`for_settings` picks the transport registered for the most specific settings class.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from toolkit.errors import UsageError
from toolkit.settings import ConnectionSettings
from toolkit.templates import RenderedScript
from toolkit.transport.base import HostSession, HostTarget

SessionFactory = Callable[[HostTarget, ConnectionSettings], HostSession]

DEFAULT_TRANSPORT = "winrm"

# Where each built-in transport registers itself; imported on first use (see the module docstring).
_BUILTIN_MODULES: dict[str, str] = {
    "winrm": "toolkit.transport.winrm",
    "jumpcloud": "toolkit.transport.jumpcloud",
}


@dataclass(frozen=True)
class Transport:
    """One way of running scripts on hosts.

    Attributes:
        name: the ``--via`` value.
        settings_type: the settings class its sessions need; :func:`for_settings` maps settings to it.
        open_session: opens a session for one host (nothing may run on the host until the first step).
        prepare: the run's settings made ready to connect (a password, an API key), in the main thread.
        preview: the exact text ``--dry-run`` shows for a rendered script, in check mode or not.
        refusal: why a rendered script cannot go through this transport (None: it can); asked for every
            script of a run before anything is sent, so a refusal is bad input (exit 2), not a host failure.
    """

    name: str
    settings_type: type[ConnectionSettings]
    open_session: SessionFactory
    prepare: Callable[[ConnectionSettings], ConnectionSettings]
    preview: Callable[[RenderedScript, bool], str]
    refusal: Callable[[RenderedScript], str | None] = lambda rendered: None

    def check_sendable(self, scripts: Iterable[RenderedScript]) -> None:
        """Raise :class:`UsageError` for the first script this transport refuses."""
        for rendered in scripts:
            reason = self.refusal(rendered)
            if reason is not None:
                raise UsageError(f"--via {self.name}: {reason}")


_registry: dict[str, Transport] = {}


def register(transport: Transport) -> Transport:
    """Make ``transport`` available under its name (a later registration of the same name replaces it)."""
    _registry[transport.name] = transport
    return transport


def transport_names() -> tuple[str, ...]:
    """Every ``--via`` value, the default first; imports no transport module."""
    names = dict.fromkeys([DEFAULT_TRANSPORT, *_BUILTIN_MODULES, *_registry])
    return tuple(names)


def get_transport(name: str) -> Transport:
    """The transport called ``name``; raises :class:`UsageError` naming the valid values."""
    if name not in _registry and name in _BUILTIN_MODULES:
        importlib.import_module(_BUILTIN_MODULES[name])
    transport = _registry.get(name)
    if transport is None:
        raise UsageError(f"--via must be one of {', '.join(transport_names())}, not {name!r}")
    return transport


def for_settings(settings: ConnectionSettings) -> Transport:
    """The transport whose settings class is the most specific one ``settings`` is an instance of."""
    for name in _BUILTIN_MODULES:
        get_transport(name)
    for cls in type(settings).__mro__:
        match = next((t for t in _registry.values() if t.settings_type is cls), None)
        if match is not None:
            return match
    return get_transport(DEFAULT_TRANSPORT)


def open_session(target: HostTarget, settings: ConnectionSettings) -> HostSession:
    """A session for ``target`` through the transport ``settings`` belong to (the runner's default factory)."""
    return for_settings(settings).open_session(target, settings)
