"""PSRP messages serialised once per run instead of once per host.

Every host's runspace pool opens with the same two messages (``SESSION_CAPABILITY``, ``INIT_RUNSPACEPOOL``),
and every host of a step gets the same ``CREATE_PIPELINE`` message (the script and its parameters): only the
runspace-pool and pipeline ids differ, and those live in the message's binary header, which pypsrp packs
around the XML body (``pypsrp.messages.Message.pack``). Serialising the body (pypsrp's ``Serializer`` and
ElementTree) was about a fifth of the client's CPU per host.

:class:`CachingSerializer` is pypsrp's ``Serializer`` with one change: for those three message types it
returns the serialised XML body (bytes, which ``Message.pack`` takes as they are) from a small per-process
cache, serialising it the ordinary way the first time. It is installed on a pool by :func:`install` (a
subclass rather than a patch of pypsrp, so every other pool in the process is untouched).

What a cached body depends on, and so its key:

* ``SESSION_CAPABILITY``: the three version strings (and no time zone).
* ``INIT_RUNSPACEPOOL``: the runspace counts, thread options and apartment state (no host, no
  application arguments: anything else is serialised afresh).
* ``CREATE_PIPELINE``: the key the session armed with :meth:`CachingSerializer.arm` just before invoking, built
  by :func:`pipeline_key` from the script, its local-scope flag, its parameters with their types and the pool's
  negotiated protocol version, plus the pipeline's own flags. The session arms nothing when a parameter is a
  :class:`~toolkit.secrets.Secret`: a message holding a secret is never kept, and nothing here is ever written
  anywhere.

The other way round, the ``APPLICATION_PRIVATE_DATA`` every host sends when its pool opens is parsed once per
distinct text (:meth:`CachingSerializer.deserialize`).
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

from pypsrp.messages import ApplicationPrivateData, CreatePipeline, InitRunspacePool, SessionCapability
from pypsrp.powershell import RunspacePool
from pypsrp.serializer import Serializer

from toolkit.secrets import Secret

ENABLED = True  # False: serialise every message afresh (for measuring the cache's effect)
MAX_ENTRIES = 32  # a run sends a handful of distinct messages; more only means per-host parameters

MAX_PRIVATE_DATA_CHARS = 65536  # larger private data is parsed afresh, not kept

_cache: OrderedDict[Hashable, bytes] = OrderedDict()
_private_data: OrderedDict[str, Any] = OrderedDict()
_lock = threading.Lock()


class Uncacheable(Exception):
    """A parameter value whose serialised form the key cannot pin down (its message is not cached)."""


def _typed(value: Any) -> Hashable:
    """``value`` as a hashable key that keeps its type (``True``, ``1`` and ``"1"`` serialise differently)."""
    if isinstance(value, Secret):
        raise Uncacheable("a secret is never cached")
    if value is None or isinstance(value, (str, bool, int)):
        return (type(value).__name__, value)
    if isinstance(value, float):
        return ("float", repr(value))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_typed(v) for v in value))
    if isinstance(value, Mapping):
        return ("dict", tuple((_typed(k), _typed(v)) for k, v in value.items()))
    raise Uncacheable(type(value).__name__)


def pipeline_key(
    script: str, use_local_scope: bool, parameters: Mapping[str, Any], protocol_version: str | None
) -> Hashable | None:
    """The cache key of a pipeline of one script with these parameters; None when it must not be cached.

    ``protocol_version`` is the pool's negotiated PSRP version: pypsrp's Command objects serialise differently
    below 2.2 and 2.3 (``pypsrp.complex_objects.Command``).
    """
    try:
        return (script, use_local_scope, protocol_version, tuple((name, _typed(v)) for name, v in parameters.items()))
    except Uncacheable:
        return None


def _lookup(key: Hashable) -> bytes | None:
    with _lock:
        body = _cache.get(key)
        if body is not None:
            _cache.move_to_end(key)
        return body


def _store(key: Hashable, body: bytes) -> None:
    with _lock:
        _cache[key] = body
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)


def clear() -> None:
    """Forget every cached message (a run's end; tests)."""
    with _lock:
        _cache.clear()
        _private_data.clear()


def cached_count() -> int:
    """How many message bodies are cached now."""
    with _lock:
        return len(_cache)


def private_data_count() -> int:
    """How many distinct application private data texts are kept parsed now."""
    with _lock:
        return len(_private_data)


def _value(option: Any) -> Any:
    """The value of one of pypsrp's enum-like option objects (None when there is none)."""
    return getattr(option, "value", None)


def _hostless(host_info: Any) -> bool:
    """Whether a message's HostInfo says "no host" (the only kind jcfix sends; a host's serialised form varies)."""
    return host_info is not None and getattr(host_info, "host", None) is None


class CachingSerializer(Serializer):
    """pypsrp's ``Serializer``, returning cached XML bodies for the repeated messages (see the module doc)."""

    def __init__(self) -> None:
        super().__init__()
        self._pipeline_key: Hashable | None = None

    def arm(self, key: Hashable | None) -> None:
        """Key the next ``CREATE_PIPELINE`` message with ``key`` (from :func:`pipeline_key`; None: not cached)."""
        self._pipeline_key = key

    def _message_key(self, value: Any) -> Hashable | None:
        if isinstance(value, SessionCapability) and value.time_zone is None:
            return ("capability", value.protocol_version, value.ps_version, value.serialization_version)
        if isinstance(value, InitRunspacePool) and value.application_arguments is None and _hostless(value.host_info):
            return (
                "init",
                value.min_runspaces,
                value.max_runspaces,
                _value(value.thread_options),
                _value(value.apartment_state),
            )
        if isinstance(value, CreatePipeline):
            armed, self._pipeline_key = self._pipeline_key, None  # one key, one message
            if armed is None or not _hostless(value.host_info):
                return None
            flags = (value.no_input, value.add_to_history, value.is_nested, _value(value.apartment_state))
            return ("pipeline", armed, flags, _value(value.remote_stream_options))
        return None

    # pypsrp's Message.pack takes bytes from serialize() as the serialised body (it checks for them), hence
    # the wider return type.
    def serialize(  # type: ignore[override]
        self,
        value: Any,
        metadata: Any = None,
        parent: ET.Element | None = None,
        clear: bool = True,
    ) -> ET.Element | bytes | None:
        """As ``Serializer.serialize``; a repeated top-level message comes back as its cached XML bytes."""
        key = self._message_key(value) if (ENABLED and clear and metadata is None and parent is None) else None
        if key is None:
            return super().serialize(value, metadata, parent, clear)
        body = _lookup(key)
        if body is None:
            element = super().serialize(value)
            # Exactly what Message.pack would have made of the element.
            body = ET.tostring(element, encoding="utf-8", method="xml") if element is not None else b""
            _store(key, body)
        return body

    def deserialize(self, element: ET.Element | str, metadata: Any = None, clear: bool = True) -> Any:
        """As ``Serializer.deserialize``; a host's ``APPLICATION_PRIVATE_DATA`` already seen comes back parsed.

        Hosts of one fleet send the same private data (a nested dictionary: PSVersionTable and friends), and
        pypsrp re-serialises every nested element while parsing it: about a tenth of the client's CPU per
        host. Nobody in jcfix reads it (``RunspacePool.application_private_data``); the parsed object is
        shared between the pools that received the same text, so it must be treated as read-only.
        """
        if not (
            ENABLED
            and clear
            and isinstance(element, str)
            and len(element) <= MAX_PRIVATE_DATA_CHARS
            and getattr(metadata, "object", None) is ApplicationPrivateData
        ):
            return super().deserialize(element, metadata, clear)
        with _lock:
            parsed = _private_data.get(element)
        if parsed is None:
            parsed = super().deserialize(element, metadata, clear)
            with _lock:
                _private_data[element] = parsed
                while len(_private_data) > MAX_ENTRIES:
                    _private_data.popitem(last=False)
        return parsed


def install(pool: RunspacePool) -> CachingSerializer:
    """Give ``pool`` (not yet opened) a :class:`CachingSerializer`; returns it (to :meth:`~CachingSerializer.arm`)."""
    serializer = CachingSerializer()
    pool._serializer = serializer
    pool._fragmenter.serializer = serializer
    return serializer
