"""Transports run a rendered action on a host and return its raw output.

Every transport has the same small surface (:class:`~toolkit.transport.base.HostSession`), so the
runner does not care whether a script travels over WinRM or, later, JumpCloud Commands.
"""

from toolkit.transport.base import HostSession, HostTarget, TransportError

__all__ = ["HostSession", "HostTarget", "TransportError"]
