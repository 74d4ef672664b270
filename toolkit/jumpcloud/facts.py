"""The JumpCloud side of a diagnosis, read once per run: users, the hosts' devices, bindings, start dates."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from toolkit.jumpcloud import api
from toolkit.jumpcloud.api import SCHEDULABLE_STATES, JcSystem, JcUser, ScheduledState
from toolkit.jumpcloud.client import JumpCloudClient


@dataclass(frozen=True)
class JumpCloudFacts:
    """What JumpCloud says about the users and devices of one run.

    Attributes:
        users: every user of the organisation.
        systems: by systemKey (as read from ``jcagent.conf``): the device, or None when JumpCloud has none.
        bound: by systemKey: the ids of the users bound to that device (directly or through groups).
        scheduled: by user id: pending scheduled state changes (a future start date).
        read_at: when this was read (UTC); "in the future" and "last contact" are measured from here.
    """

    users: tuple[JcUser, ...]
    systems: dict[str, JcSystem | None] = field(default_factory=dict)
    bound: dict[str, frozenset[str]] = field(default_factory=dict)
    scheduled: dict[str, tuple[ScheduledState, ...]] = field(default_factory=dict)
    read_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def user(self, username: str) -> JcUser | None:
        """The user called exactly ``username`` (JumpCloud usernames are case-sensitive)."""
        return api.find_user(self.users, username)[0]

    def case_only_matches(self, username: str) -> list[JcUser]:
        return api.find_user(self.users, username)[1]

    def local_name(self, username: str) -> str:
        """The local account name the agent uses for ``username``: its Local User Account when set."""
        user = self.user(username)
        return user.local_name if user is not None else username

    def bound_usernames(self, system_key: str) -> list[str]:
        ids = self.bound.get(system_key, frozenset())
        return sorted(u.username for u in self.users if u.id in ids)


def read_facts(client: JumpCloudClient, system_keys: Iterable[str | None]) -> JumpCloudFacts:
    """Read users, then each device and its bindings, then the start dates of staged and suspended users."""
    users = tuple(api.list_users(client))
    systems: dict[str, JcSystem | None] = {}
    bound: dict[str, frozenset[str]] = {}
    for key in dict.fromkeys(k for k in system_keys if k):
        system = api.get_system(client, key)
        systems[key] = system
        if system is not None:
            bound[key] = frozenset(api.bound_user_ids(client, key))
    # JumpCloud schedules activation for Staged or Suspended users (research §6): read both.
    staged = [u.id for u in users if u.state in SCHEDULABLE_STATES]
    scheduled: dict[str, list[ScheduledState]] = {}
    for event in api.scheduled_states(client, staged) if staged else []:
        scheduled.setdefault(event.user_id, []).append(event)
    return JumpCloudFacts(
        users=users,
        systems=systems,
        bound=bound,
        scheduled={k: tuple(v) for k, v in scheduled.items()},
    )
