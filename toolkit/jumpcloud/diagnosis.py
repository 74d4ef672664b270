"""What a diagnosis asks the JumpCloud API: the users once per run, then each host's device as it comes in.

:class:`JumpCloudReader` is shared by every host of a run (``jcfix diagnose``, a playbook's ``diagnose``
steps, ``verify``): hosts finish in any order and on worker threads, so it reads lazily, under a lock,
and caches what it read (users and start dates once, each device and its bindings once).
"""

from __future__ import annotations

import sys
import threading
from dataclasses import replace
from types import TracebackType

from toolkit.jumpcloud import api
from toolkit.jumpcloud.api import SCHEDULABLE_STATES, JcSystem, JcUser, ScheduledState
from toolkit.jumpcloud.client import JumpCloudClient, JumpCloudError, find_api_key, load_config
from toolkit.jumpcloud.facts import JumpCloudFacts


class JumpCloudReader:
    """JumpCloud's view of a run's hosts, read on demand and at most once per user list and device.

    ``enabled``: True (``--jc-api``) requires a key and fails on an API error; None (the default) reads
    the API when a key is configured and, on an API error, warns once and leaves the JumpCloud findings
    out; False (``--no-jc-api``) never calls it.
    """

    def __init__(self, *, enabled: bool | None, org_id: str | None = None) -> None:
        self._lock = threading.Lock()
        self._strict = bool(enabled)
        self._active = enabled is not False and find_api_key() is not None
        if enabled and find_api_key() is None:
            raise JumpCloudError(
                "--jc-api needs a JumpCloud API key: set JCFIX_JC_API_KEY or use the keyring", kind="usage"
            )
        self._org_id = org_id
        self._client: JumpCloudClient | None = None
        self._base: JumpCloudFacts | None = None
        self._systems: dict[str, JcSystem | None] = {}
        self._bound: dict[str, frozenset[str]] = {}

    @property
    def active(self) -> bool:
        """Whether JumpCloud is read at all (off, no key, or turned off by an API error: False)."""
        return self._active

    def facts_for(self, system_key: str | None) -> JumpCloudFacts | None:
        """JumpCloud's view of the users and of the device ``system_key`` (None: the API is not read)."""
        if not self._active:
            return None
        with self._lock:
            try:
                return self._read(system_key)
            except JumpCloudError as exc:
                if self._strict:
                    raise
                self._active = False
                print(f"jcfix: warning: {exc.message}; JumpCloud findings are left out", file=sys.stderr)
                return None

    def _read(self, system_key: str | None) -> JumpCloudFacts:
        if self._client is None:
            self._client = JumpCloudClient(load_config(org_id=self._org_id))
        client = self._client
        if self._base is None:
            self._base = _read_users(client)
        if system_key and system_key not in self._systems:
            system = api.get_system(client, system_key)
            self._systems[system_key] = system
            if system is not None:
                self._bound[system_key] = frozenset(api.bound_user_ids(client, system_key))
        keys = [system_key] if system_key else []
        return replace(
            self._base,
            systems={k: self._systems[k] for k in keys},
            bound={k: self._bound[k] for k in keys if k in self._bound},
        )

    def refresh(self) -> None:
        """Forget what was read, so the next host reads JumpCloud again (a poll sees changes since the last)."""
        with self._lock:
            self._base = None
            self._systems.clear()
            self._bound.clear()

    def close(self) -> None:
        """Close the API connection, if one was opened."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> JumpCloudReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _read_users(client: JumpCloudClient) -> JumpCloudFacts:
    """Every user, and the pending start dates of the staged and suspended ones (no device yet)."""
    users: tuple[JcUser, ...] = tuple(api.list_users(client))
    # JumpCloud schedules activation for Staged or Suspended users (research §6): read both.
    staged = [u.id for u in users if u.state in SCHEDULABLE_STATES]
    scheduled: dict[str, list[ScheduledState]] = {}
    for event in api.scheduled_states(client, staged) if staged else []:
        scheduled.setdefault(event.user_id, []).append(event)
    return JumpCloudFacts(users=users, scheduled={k: tuple(v) for k, v in scheduled.items()})
