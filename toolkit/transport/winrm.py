"""The WinRM transport: one pypsrp runspace pool per host, reused for every script of a run.

Built from pypsrp's layers directly (``WSMan`` → ``RunspacePool`` → ``PowerShell``) rather than
``Client.execute_ps``, which opens a pool per call and wraps the script in ``Invoke-Expression``.
Scripts go in with ``add_script`` and their values with ``add_parameters``: nothing is spliced.

pypsrp retries a Receive that hits a read timeout five times with growing sleeps, so a hung host
costs minutes by default. jcfix gives every host a hard deadline: each HTTP request's timeouts are
clamped to what is left of it, and once it has passed no further request is sent.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from pypsrp.complex_objects import ErrorRecord
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from toolkit.results import RawOutput
from toolkit.secrets import Secret
from toolkit.settings import ConnectionSettings, check_cleartext, resolve_password
from toolkit.templates import RenderedScript
from toolkit.textvalues import printable
from toolkit.transport.base import HostTarget, TransportError, resolve_endpoint
from toolkit.transport.errors import DeadlineExceeded, classify
from toolkit.transport.httpsession import close_session, share_tls
from toolkit.transport.ntlmhash import ntlm_password
from toolkit.transport.psrpcache import CachingSerializer, pipeline_key
from toolkit.transport.psrpcache import install as install_message_cache
from toolkit.transport.registry import Transport, register

log = logging.getLogger(__name__)


# A .NET type name in a FullyQualifiedErrorId ("PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand"):
# the command or exception class that raised, not words for an admin.
_TYPE_NAME = re.compile(r"^(Microsoft|System)(\.\w+)+$")


def _error_id(fq_error: str) -> str:
    """The error id a FullyQualifiedErrorId (``ErrorId,Command``) starts with; "" when it is a .NET type name
    (Write-Error's default, ``Microsoft.PowerShell.Commands.WriteErrorException``), which says nothing."""
    error_id = fq_error.split(",", 1)[0].strip()
    return "" if _TYPE_NAME.match(error_id) else error_id


def error_record_text(record: Any) -> str:
    """The text an admin would see for a PowerShell error record: its message, then its error id if it adds one.

    One line, control characters escaped (the text is the host's).
    """
    text = ""
    if isinstance(record, ErrorRecord):
        text = str(record) or record.message or ""
        error_id = _error_id(record.fq_error or "")
        if error_id and error_id not in text:
            text = f"{text} (error id {error_id})" if text else error_id
    else:
        text = str(record)
    return printable(" ".join(text.split())) or "unknown error"


class _Deadline:
    """Clamps every HTTP request of one host to the time left before its deadline."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.expires - time.monotonic()

    def clamp(self, timeout: Any) -> tuple[float, float]:
        left = self.remaining()
        if left <= 0:
            raise DeadlineExceeded(self.seconds)
        if isinstance(timeout, tuple):
            connect, read = timeout
        else:
            connect = read = timeout if timeout is not None else left
        return (min(float(connect), left), min(float(read), left))

    def install(self, wsman: WSMan) -> None:
        """Wrap the HTTP adapters of ``wsman``'s session so each send honours the deadline.

        The adapters are wrapped rather than the session because NTLM's second leg is sent by the
        auth hook through ``response.connection`` (the adapter), bypassing ``Session.send``.
        """
        transport = wsman.transport
        if transport.session is None:
            transport.session = transport._build_session()
        # jcfix connects without proxies (no_proxy) and pypsrp merged the environment's CA bundle into the
        # session when it built it; without this, requests rescans every environment variable on every
        # request, which was the largest single CPU cost per host in the benchmark.
        transport.session.trust_env = False
        for adapter in transport.session.adapters.values():
            share_tls(adapter)  # one SSL context per run, not one per connection (toolkit.transport.httpsession)
            original_send = adapter.send

            def send(request: Any, *args: Any, _send: Any = original_send, **kwargs: Any) -> Any:
                kwargs["timeout"] = self.clamp(kwargs.get("timeout"))
                return _send(request, *args, **kwargs)

            # Replacing the bound method on this one adapter instance is the point (no subclass to swap in).
            adapter.send = send  # type: ignore[method-assign]


class WinRMSession:
    """One host over WinRM: a runspace pool opened on first use and reused until :meth:`close`.

    Args:
        target: the host and any per-host connection overrides.
        settings: the run's connection settings (with the password already resolved).
    """

    def __init__(self, target: HostTarget, settings: ConnectionSettings) -> None:
        self.target = target
        self.settings = settings
        self._deadline = _Deadline(settings.deadline)
        self._wsman: WSMan | None = None
        self._pool: RunspacePool | None = None
        self._serializer: CachingSerializer | None = None

    def __repr__(self) -> str:
        return f"WinRMSession({self.target.name!r})"

    def _connect(self) -> RunspacePool:
        if self._pool is not None:
            return self._pool
        settings = self.settings
        end = resolve_endpoint(self.target, settings)
        password = settings.password.reveal() if isinstance(settings.password, Secret) else None
        cert_validation: bool | str = settings.cert_validation
        if settings.cert_validation and end.ca_cert:
            cert_validation = end.ca_cert
        extra: dict[str, Any] = {}
        if settings.certificate_pem:
            extra = {"certificate_pem": settings.certificate_pem, "certificate_key_pem": settings.certificate_key_pem}
        check_cleartext(end.address, end.scheme, end.auth)
        if password is not None and end.auth == "ntlm":
            password = ntlm_password(password)  # the hashes once per run, not DES per host (toolkit.transport.ntlmhash)
        self._wsman = WSMan(
            end.address,
            port=end.port,
            username=settings.user,
            password=password,
            ssl=end.scheme == "https",
            auth=end.auth,
            # Basic over HTTP has no message encryption; check_cleartext allowed it for loopback only.
            encryption="never" if (end.auth == "basic" and end.scheme == "http") else "auto",
            # pypsrp annotates bool, but hands the value to requests' Session.verify, which also takes a CA path.
            cert_validation=cert_validation,  # type: ignore[arg-type]
            connection_timeout=int(max(1, settings.connect_timeout)),
            read_timeout=int(max(2, settings.read_timeout)),
            operation_timeout=settings.operation_timeout,
            reconnection_retries=0,
            # No sleeping between pypsrp's read-timeout retries: the deadline bounds them instead.
            reconnection_backoff=0.0,
            no_proxy=True,
            **extra,
        )
        self._deadline.install(self._wsman)
        pool = RunspacePool(self._wsman)
        # The pool-open and create-pipeline messages are the same XML for every host (toolkit.transport.psrpcache).
        self._serializer = install_message_cache(pool)
        pool.open()
        self._pool = pool
        return pool

    def open(self) -> None:
        """Connect and open the runspace pool now (runs nothing on the host); raises :class:`TransportError`.

        The runner calls it before the first step, so a failure here is known to have changed nothing.
        """
        try:
            self._connect()
        except Exception as exc:  # every failure leaves as one classified line
            raise self._failure(exc, "connecting") from None

    def _failure(self, exc: Exception, doing: str) -> TransportError:
        """``exc`` as one classified line; the whole exception goes to the debug log (shown with --debug)."""
        error = classify(exc, host=self.target.name)
        log.debug("%s failed on %s (%s)", doing, self.target.name, error.message, exc_info=exc)
        return error

    @contextlib.contextmanager
    def limit_to(self, seconds: float) -> Iterator[None]:
        """Within the block, no HTTP request waits past ``seconds`` from now (a step's own timeout)."""
        saved = self._deadline.expires
        self._deadline.expires = min(saved, time.monotonic() + seconds)
        try:
            yield
        finally:
            self._deadline.expires = saved

    def run(self, rendered: RenderedScript, *, whatif: bool = False) -> RawOutput:
        """Run ``rendered`` with its parameters; raises :class:`TransportError` when the host fails us."""
        try:
            pool = self._connect()
            shell = PowerShell(pool)
            # Its own scope: without use_local_scope a CmdletBinding script runs dot-sourced into the pooled
            # runspace, and its functions, variables and strict mode persist into the next step
            # (Command.CreateCommandProcessor, useLocalScope defaults to false: fact sheet §8).
            shell.add_script(rendered.script, use_local_scope=True)
            parameters = {k: (v.reveal() if isinstance(v, Secret) else v) for k, v in rendered.parameters.items()}
            if whatif:
                parameters["WhatIf"] = True
            if parameters:
                shell.add_parameters(parameters)
            secret = any(isinstance(v, Secret) for v in rendered.parameters.values())
            if self._serializer is not None:
                # A message that carries a secret is never cached: serialised afresh, for this host only.
                key = None if secret else pipeline_key(rendered.script, True, parameters, pool.protocol_version)
                self._serializer.arm(key)
            output = shell.invoke()
        except Exception as exc:  # every failure leaves as one classified line
            raise self._failure(exc, "running a script") from None
        records = list(shell.streams.error)
        terminating = None
        if shell.had_errors and records:
            # pypsrp appends the PipelineState's error record last when the pipeline failed.
            terminating = error_record_text(records.pop())
        elif shell.had_errors:
            terminating = "the pipeline failed without an error record"
        return RawOutput(
            output=list(output),
            error_records=[error_record_text(r) for r in records],
            terminating_error=terminating,
        )

    def close(self) -> None:
        """Close the runspace pool and the HTTP session; a host already gone is not an error here."""
        pool, wsman = self._pool, self._wsman
        self._pool = self._wsman = None
        if pool is not None:
            try:
                if self._deadline.remaining() <= 0:
                    # Past the deadline a polite close would only wait on a dead host again.
                    raise DeadlineExceeded(self._deadline.seconds)
                pool.close()
            except Exception as exc:  # closing is best effort; the result is already decided
                log.debug("closing the pool on %s failed: %s", self.target.name, classify(exc, host=self.target.name))
        if wsman is not None:
            try:
                # Not wsman.close(): its session.close() leaves sockets to the garbage collector (httpsession).
                if wsman.transport.session is not None:
                    close_session(wsman.transport.session)
            except Exception:  # the HTTP session may be half-open; nothing more to do
                log.debug("closing the HTTP session on %s failed", self.target.name, exc_info=True)

    def __enter__(self) -> WinRMSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_session(target: HostTarget, settings: ConnectionSettings) -> WinRMSession:
    """A session for ``target``; nothing connects until the first :meth:`WinRMSession.run`."""
    return WinRMSession(target, settings)


def _prepare(settings: ConnectionSettings) -> ConnectionSettings:
    return resolve_password(settings)


def preview(rendered: RenderedScript, whatif: bool) -> str:
    """The script and parameters exactly as sent: ``-WhatIf`` travels as one more parameter."""
    if whatif:
        rendered = replace(rendered, parameters={**rendered.parameters, "WhatIf": True})
    return rendered.preview()


TRANSPORT = register(Transport("winrm", ConnectionSettings, open_session, _prepare, preview))

__all__ = ["TRANSPORT", "TransportError", "WinRMSession", "error_record_text", "open_session", "preview"]
