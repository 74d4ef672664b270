"""What every transport offers the runner, and the one failure type it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from toolkit.models import TransportCategory
from toolkit.results import RawOutput
from toolkit.settings import ConnectionSettings, Scheme, port_for
from toolkit.templates import RenderedScript

__all__ = ["Endpoint", "HostSession", "HostTarget", "TransportCategory", "TransportError", "resolve_endpoint"]


class TransportError(Exception):
    """A failure to run a script on a host, classified and explained in one line.

    Attributes:
        category: ``unreachable`` (DNS, refused, connect/read timeout, dropped connection, deadline),
            ``auth_failed``, ``protocol`` (a WSMan fault or unexpected PSRP state) or ``script_failed``.
        message: one line for the admin; never contains a secret.
    """

    def __init__(self, category: TransportCategory, message: str) -> None:
        super().__init__(f"{category}: {message}")
        self.category = category
        self.message = message


@dataclass(frozen=True)
class HostTarget:
    """Where one host is and how to reach it; connection fields left None take the run's settings.

    Attributes:
        name: what reports call the host (the inventory name or the --host value).
        address: DNS name or IP to connect to (defaults to ``name``).
        port, scheme, auth: per-host overrides of the run's connection settings.
        ca_cert: a CA bundle for this host's certificate (an HTTPS lab's inventory names its own).
        vars: per-host inventory variables (for example ``jc_users``).
    """

    name: str
    address: str | None = None
    port: int | None = None
    scheme: Scheme | None = None
    auth: str | None = None
    ca_cert: str | None = None
    vars: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def connect_address(self) -> str:
        return self.address or self.name


@dataclass(frozen=True)
class Endpoint:
    """Where and how one host is reached: its per-host overrides applied over the run's settings."""

    address: str
    port: int
    scheme: Scheme
    auth: str
    ca_cert: str | None

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}:{self.port}"


def resolve_endpoint(target: HostTarget, settings: ConnectionSettings) -> Endpoint:
    """The one rule for a host's scheme, port, auth and CA bundle: the host's own value, else the run's.

    The port falls back to the run's ``--port``, then to the standard port of the host's scheme.
    """
    scheme = target.scheme or settings.scheme
    return Endpoint(
        address=target.connect_address,
        port=target.port or settings.port or port_for(scheme),
        scheme=scheme,
        auth=target.auth or settings.auth,
        ca_cert=target.ca_cert or settings.ca_cert,
    )


class HostSession(Protocol):
    """One connection to one host, reused for every script of a run, closed in all paths."""

    target: HostTarget

    def run(self, rendered: RenderedScript, *, whatif: bool = False) -> RawOutput:
        """Run one rendered script with its parameters; raises :class:`TransportError`."""
        ...

    def close(self) -> None:
        """Release the host's resources (the runspace pool); never raises."""
        ...

    def __enter__(self) -> HostSession: ...

    def __exit__(self, *exc_info: object) -> None: ...
