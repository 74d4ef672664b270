"""PSRP on the lab side: one runspace pool per WinRM shell, built on psrpcore's server classes.

psrpcore does the PSRP message work (fragments, serialisation, pool negotiation). What it leaves to its
caller, and this module does:

* a :class:`ServerPipeline` must exist (from the WinRM Command's ``CommandId``) before the Command's
  fragment is fed in, or psrpcore cannot attach the CreatePipeline message to it;
* outgoing data is one buffer for the whole pool, so it is routed here into one queue per pipeline and
  one for the pool, each fragment its own ``Stream`` element as Windows sends them;
* set-min/max-runspaces (and friends) need an explicit reply;
* a pipeline that fails gets its ``Failed`` state message built here (psrpcore has no public call);
* the pool's ``Opened`` state travels in a Receive of its own, after capability and private data, as a
  real Windows host does (6 requests for a first pipeline with Basic auth, not 5).
"""

from __future__ import annotations

import asyncio
import base64
import struct
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from psrpcore import (
    CreatePipelineEvent,
    GetAvailableRunspacesEvent,
    PSRPPayload,
    ResetRunspaceStateEvent,
    ServerPipeline,
    SetMaxRunspacesEvent,
    SetMinRunspacesEvent,
    StreamType,
)
from psrpcore.types import (
    ErrorCategory,
    ErrorCategoryInfo,
    ErrorRecord,
    NETException,
    PipelineState,
    ProgressRecordMsg,
    ProgressRecordType,
    PSInvocationState,
    PSRPMessageType,
    PSVersion,
)

from toolkit.lab import engine
from toolkit.lab.host import LabHost
from toolkit.lab.hostmachine import machine_of
from toolkit.lab.powershell import Runspace
from toolkit.lab.psrpcache import CachingRunspacePool
from toolkit.lab.wsman import WSManFault, operation_timeout

FRAGMENT_HEADER_SIZE = 21  # object id (8), fragment id (8), flags (1), length (4)
TERMINAL_STATES = frozenset({PSInvocationState.Completed, PSInvocationState.Failed, PSInvocationState.Stopped})
# What a Receive may carry, below the client's MaxEnvelopeSize: base64 grows data by 4/3, and the
# envelope around the streams needs room too.
ENVELOPE_OVERHEAD = 4096


class ClientGone(Exception):
    """The client closed its connection while a Receive waited: its output stays queued for the retry."""


def split_fragments(data: bytes) -> list[bytes]:
    """The PSRP fragments in a payload, each with its header (so each can be its own ``Stream``)."""
    fragments = []
    offset = 0
    while offset + FRAGMENT_HEADER_SIZE <= len(data):
        (length,) = struct.unpack(">I", data[offset + 17 : offset + 21])
        end = offset + FRAGMENT_HEADER_SIZE + length
        fragments.append(data[offset:end])
        offset = end
    return fragments


def fragment_message_type(fragment: bytes) -> int | None:
    """The PSRP message type a start fragment begins, or None for a continuation fragment."""
    if not fragment[16] & 0x1 or len(fragment) < FRAGMENT_HEADER_SIZE + 8:
        return None
    (message_type,) = struct.unpack("<I", fragment[FRAGMENT_HEADER_SIZE + 4 : FRAGMENT_HEADER_SIZE + 8])
    return int(message_type)


def fragment_pipeline_id(fragment: bytes) -> uuid.UUID | None:
    """The pipeline id in a start fragment's message header (all zero for the pool)."""
    start = FRAGMENT_HEADER_SIZE + 24
    if not fragment[16] & 0x1 or len(fragment) < start + 16:
        return None
    value = uuid.UUID(bytes_le=fragment[start : start + 16])
    return None if value.int == 0 else value


def error_record(error: engine.LabError) -> ErrorRecord:
    """A psrpcore :class:`ErrorRecord` for an engine error, typed like the .NET exception it names."""
    exception = NETException(Message=error.message, HResult=-2146233087)
    exception.PSObject.type_names = [error.exception_type, "System.SystemException", *exception.PSTypeNames]
    category = getattr(ErrorCategory, error.category, ErrorCategory.NotSpecified)
    return ErrorRecord(
        Exception=exception,
        CategoryInfo=ErrorCategoryInfo(
            Category=category, Activity=error.activity, Reason=error.reason, TargetName=error.target_name
        ),
        FullyQualifiedErrorId=error.fully_qualified_error_id,
    )


def application_private_data(host: LabHost) -> dict[str, object]:
    """The ``PSVersionTable`` a Windows PowerShell 5.1 endpoint sends when a pool opens."""
    return _private_data(host.ps_version)


@lru_cache(maxsize=64)
def _private_data(ps_version: str) -> dict[str, object]:
    """Built once per version (read only: psrpcore serialises it; its defaults are already set here)."""
    build = ps_version.split(".", 2)[2] if ps_version.count(".") >= 2 else "0.0"
    return {
        "PSVersionTable": {
            "PSVersion": PSVersion(ps_version),
            "PSEdition": "Desktop",
            "PSCompatibleVersions": [PSVersion(v) for v in ("1.0", "2.0", "3.0", "4.0", "5.0", ps_version)],
            "CLRVersion": PSVersion("4.0.30319.42000"),
            "BuildVersion": PSVersion(f"10.0.{build}"),
            "WSManStackVersion": PSVersion("3.0"),
            "PSRemotingProtocolVersion": PSVersion("2.3"),
            "SerializationVersion": PSVersion("1.1.0.1"),
        }
    }


def _first_use_progress() -> ProgressRecordMsg:
    """The progress record the first pipeline of a Windows PowerShell runspace reports (module preparation)."""
    return ProgressRecordMsg(Activity="Preparing modules for first use.", ActivityId=0, StatusDescription=" ",
                             CurrentOperation=None, ParentActivityId=-1, PercentComplete=-1,
                             Type=ProgressRecordType.Completed, SecondsRemaining=-1)


@dataclass
class PipelineChannel:
    """One pipeline's outgoing fragments and whether its final state has been queued."""

    pipeline: ServerPipeline
    command_id: str
    chunks: deque[bytes] = field(default_factory=deque)
    finished: bool = False
    task: asyncio.Task[None] | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class LabShell:
    """A WinRM shell hosting one PSRP runspace pool for one simulated host.

    Args:
        host: the simulated host scripts run against.
        shell_id: the WinRM ShellId (pypsrp sends the pool id, upper case).
        resource_uri: the PowerShell configuration URI the shell was created for.
        idle_timeout_s: the shell's IdleTimeOut in seconds (reported only; default 7200 as on Windows).
        on_pipeline_done: called with the action name after each pipeline finishes (for counters).
    """

    def __init__(
        self,
        host: LabHost,
        shell_id: str,
        resource_uri: str,
        idle_timeout_s: float = 7200.0,
        on_pipeline_done: Callable[[str | None], None] | None = None,
    ) -> None:
        self.host = host
        self.shell_id = shell_id
        self.resource_uri = resource_uri
        self.idle_timeout_s = idle_timeout_s
        self.pool = CachingRunspacePool(application_private_data=application_private_data(host),
                                        private_data_key=host.ps_version)
        self.pool_chunks: deque[bytes] = deque()
        self.pool_changed = asyncio.Event()
        self.channels: dict[uuid.UUID, PipelineChannel] = {}
        self._pipelines_run = 0
        self._on_pipeline_done = on_pipeline_done
        # The pool's PowerShell state (functions and variables a dot-sourced script leaves), made on first use.
        self._runspace: Runspace | None = None

    @property
    def runspace(self) -> Runspace:
        """The runspace every pipeline of this pool runs in (one per pool, as on Windows)."""
        if self._runspace is None:
            self._runspace = Runspace(machine_of(self.host))
        return self._runspace

    # ---- incoming -------------------------------------------------------------------------------

    def feed(self, data: bytes, pipeline_id: uuid.UUID | None = None) -> None:
        """Process PSRP data from creationXml, a Command or a Send; starts pipelines it creates."""
        self.pool.receive_data(PSRPPayload(data, StreamType.default, pipeline_id))
        while (event := self.pool.next_event()) is not None:
            if isinstance(event, CreatePipelineEvent):
                self._start(event.pipeline_id)
            elif isinstance(event, (SetMaxRunspacesEvent, SetMinRunspacesEvent, ResetRunspaceStateEvent)):
                if isinstance(event, ResetRunspaceStateEvent):
                    self._runspace = None  # RunspacePool.ResetRunspaceState: the global scope starts afresh
                self.pool.runspace_availability_response(event.ci, True)
            elif isinstance(event, GetAvailableRunspacesEvent):
                busy = sum(1 for c in self.channels.values() if not c.finished)
                self.pool.runspace_availability_response(event.ci, max(self.pool.max_runspaces - busy, 0))
        self.drain()

    def create_pipeline(self, command_id: str | None, first_fragment: bytes) -> str:
        """Handle a WinRM Command: make the pipeline first, then feed its CreatePipeline fragment."""
        fragments = split_fragments(first_fragment)
        pipeline_id = uuid.UUID(command_id) if command_id else None
        if pipeline_id is None and fragments:
            pipeline_id = fragment_pipeline_id(fragments[0])
        if pipeline_id is None:
            pipeline_id = uuid.uuid4()
        channel = PipelineChannel(ServerPipeline(self.pool, pipeline_id), str(pipeline_id).upper())
        self.channels[pipeline_id] = channel
        self.feed(first_fragment, pipeline_id)
        return channel.command_id

    def signal(self, command_id: str, code: str) -> None:
        """Terminate (forget) or stop (Ctrl+C) a pipeline."""
        channel = self.channels.get(uuid.UUID(command_id))
        if channel is None:
            return
        if code.endswith("crtl_c") or code.endswith("ctrl_c"):
            if channel.task is not None and not channel.task.done():
                channel.task.cancel()
            if channel.pipeline.state == PSInvocationState.Running:
                channel.pipeline.stop()
                channel.finished = True
                self.drain()
            return
        if channel.task is not None and not channel.task.done():
            channel.task.cancel()
        self.channels.pop(channel.pipeline.pipeline_id, None)
        self.pool.pipeline_table.pop(channel.pipeline.pipeline_id, None)

    def close(self) -> None:
        """Delete: stop whatever still runs and drop every queue."""
        for channel in self.channels.values():
            if channel.task is not None and not channel.task.done():
                channel.task.cancel()
        self.channels.clear()
        self.pool.pipeline_table.clear()
        self.pool_chunks.clear()

    # ---- running --------------------------------------------------------------------------------

    def _start(self, pipeline_id: uuid.UUID) -> None:
        channel = self.channels.get(pipeline_id)
        if channel is None:  # created by a Send with no Command before it: nothing to answer to
            return
        # Running is not announced: Windows sends no PipelineState until the pipeline ends.
        channel.pipeline.state = PSInvocationState.Running
        channel.task = asyncio.get_running_loop().create_task(self._run(channel))

    async def _run(self, channel: PipelineChannel) -> None:
        delay = self.host.faults.script_delay_s
        if delay > 0:
            await asyncio.sleep(delay)
        metadata = channel.pipeline.metadata
        commands = [
            engine.LabCommand(
                text=str(command.command_text),
                is_script=bool(command.is_script),
                parameters=list(command.parameters),
                end_of_statement=bool(command.end_of_statement),
                use_local_scope=bool(command.use_local_scope),
            )
            for command in (metadata.commands if metadata is not None else [])
        ]
        result = engine.run_pipeline(self.host, commands, self.runspace)
        pipeline = channel.pipeline
        if self._pipelines_run == 0:
            # The first pipeline of a Windows PowerShell runspace reports module preparation.
            self.pool.prepare_constant("first use", _first_use_progress, PSRPMessageType.ProgressRecord,
                                       pipeline.pipeline_id)
        self._pipelines_run += 1
        for text in result.output:
            pipeline.write_output(text)
        for error in result.errors:
            record = error_record(error)
            pipeline.write_error(
                record.Exception, record.CategoryInfo, fully_qualified_error_id=error.fully_qualified_error_id
            )
        if result.terminating is not None:
            state = PipelineState(PipelineState=int(PSInvocationState.Failed))
            state.ExceptionAsErrorRecord = error_record(result.terminating)
            pipeline.prepare_message(state)
            pipeline.state = PSInvocationState.Failed
        else:
            pipeline.complete()
        channel.finished = True
        self.drain()
        if self._on_pipeline_done is not None:
            self._on_pipeline_done(result.action)

    # ---- outgoing -------------------------------------------------------------------------------

    def drain(self) -> None:
        """Route psrpcore's outgoing buffer into the pool's and each pipeline's queue."""
        while (payload := self.pool.data_to_send()) is not None:
            channel = self.channels.get(payload.pipeline_id) if payload.pipeline_id else None
            if payload.pipeline_id is not None and channel is None:
                continue  # the pipeline was terminated: nobody will ask for this
            target = channel.chunks if channel is not None else self.pool_chunks
            target.extend(split_fragments(payload.data))
            (channel.changed if channel is not None else self.pool_changed).set()

    def _take(self, queue: deque[bytes], budget: int, *, pool: bool) -> list[str]:
        taken: list[str] = []
        used = 0
        while queue:
            chunk = queue[0]
            if pool and taken and fragment_message_type(chunk) == PSRPMessageType.RunspacePoolState:
                break  # the pool's state change goes in a Receive of its own
            size = (len(chunk) + 2) // 3 * 4
            if taken and used + size > budget:
                break
            queue.popleft()
            taken.append(base64.b64encode(chunk).decode("ascii"))
            used += size
        return taken

    async def receive(
        self, command_id: str | None, timeout_s: float, max_envelope_size: int, client_gone: asyncio.Future[None]
    ) -> tuple[list[str], bool]:
        """Wait for output of the pool (no ``command_id``) or a pipeline, up to the OperationTimeout.

        Returns the base64 fragments to send and whether the command is done. Raises the OperationTimeout
        :class:`WSManFault` when nothing came in time, :class:`ClientGone` when the client left first (the
        output then stays queued for the client's retry).
        """
        channel = None
        if command_id:
            channel = self.channels.get(uuid.UUID(command_id))
            if channel is None:
                raise WSManFault(
                    2150858843,
                    "w:InvalidSelectors",
                    f"The request for the command with CommandId {command_id} failed: no such command in this shell.",
                    sender=True,
                )
        queue = channel.chunks if channel is not None else self.pool_chunks
        changed = channel.changed if channel is not None else self.pool_changed
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not queue and not (channel is not None and channel.finished):
            changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise operation_timeout()
            waiter = loop.create_task(changed.wait())
            either: set[asyncio.Future[Any]] = {waiter, client_gone}
            try:
                await asyncio.wait(either, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
            if client_gone.done():
                raise ClientGone
        budget = max(max_envelope_size - ENVELOPE_OVERHEAD, 1024)
        streams = self._take(queue, budget, pool=channel is None)
        done = channel is not None and channel.finished and not channel.chunks
        return streams, done
