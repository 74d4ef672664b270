"""A runspace pool that serialises its own constant replies once.

The pool's ``ApplicationPrivateData`` (the ``PSVersionTable``, wholly decided by the host's
PowerShell version) and :meth:`CachingRunspacePool.prepare_constant` messages are serialised once per
content key and the client's capability versions; the message header (pool, pipeline, object ids) is built
for each message as before.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any
from xml.etree import ElementTree

from psrpcore import ServerRunspacePool, StreamType
from psrpcore._payload import PSRPMessage, create_message
from psrpcore.types import ApplicationPrivateData, PSObject, PSRPMessageType
from psrpcore.types._serializer import serialize

# A handful of PowerShell versions and constant messages per lab: 64 bounds the memory.
CACHE_ENTRIES = 64

# Serialised outgoing messages by (content key, capability versions): a handful of PowerShell versions.
_sent: OrderedDict[tuple[Hashable, ...], bytes] = OrderedDict()


def clear_cache() -> None:
    """Forget every serialised message (tests)."""
    _sent.clear()


class CachingRunspacePool(ServerRunspacePool):
    """psrpcore's server pool, serialising its constant replies once (see the module docstring)."""

    def __init__(self, *args: Any, private_data_key: Hashable = None, **kwargs: Any) -> None:
        """psrpcore's pool; ``private_data_key`` wholly decides ``application_private_data`` (None: not cached)."""
        super().__init__(*args, **kwargs)
        self.private_data_key = private_data_key

    def _capability_key(self) -> tuple[str, ...]:
        """What of the peers' capabilities serialisation may depend on."""
        return tuple(str(getattr(capability, name, None)) for capability in (self.our_capability,
                     self.their_capability) for name in ("PSVersion", "protocolversion", "SerializationVersion"))

    def _serialized(self, key: Hashable, build: Callable[[], PSObject]) -> bytes:
        """The CLIXML of ``build()``, serialised once per ``key`` and capability versions."""
        full_key = (key, *self._capability_key())
        data = _sent.get(full_key)
        if data is None:
            element = serialize(build(), self._cipher, our_capability=self.our_capability,
                                their_capability=self.their_capability)
            data = _sent[full_key] = ElementTree.tostring(element, encoding="utf-8", method="xml")
            if len(_sent) > CACHE_ENTRIES:
                _sent.popitem(last=False)
        return data

    def prepare_constant(self, key: Hashable, build: Callable[[], PSObject], message_type: PSRPMessageType,
                         pipeline_id: uuid.UUID | None = None) -> None:
        """Queue ``build()`` as ``message_type``; ``key`` must wholly decide what ``build`` returns."""
        data = self._serialized(("constant", key), build)
        message = create_message(self._is_client, message_type, data, self.runspace_pool_id, pipeline_id)
        self._send_buffer.append(PSRPMessage(message_type, bytearray(message), self.runspace_pool_id, pipeline_id,
                                             self._fragment_counter, StreamType.default))

    def prepare_message(self, message: PSObject | None, message_type: PSRPMessageType | None = None,
                        pipeline_id: uuid.UUID | None = None, stream_type: StreamType = StreamType.default) -> None:
        """psrpcore's ``prepare_message``; this pool's own ``ApplicationPrivateData`` is serialised once."""
        # psrpcore's server sends only its own application_private_data as ApplicationPrivateData (connect and
        # InitRunspacePool), which private_data_key wholly decides.
        if isinstance(message, ApplicationPrivateData) and self.private_data_key is not None and pipeline_id is None:
            self.prepare_constant(("private data", self.private_data_key), lambda: message,
                                  PSRPMessageType.ApplicationPrivateData)
            return
        super().prepare_message(message, message_type, pipeline_id, stream_type)
