"""The lab's JumpCloud organisation: users, devices, bindings, start dates and Commands, wired to lab hosts.

A scenario may carry a ``jumpcloud:`` section (see :class:`JumpCloudScenario`); without one, every host with
an agent is a device and each host's ``jc_users`` are active users with a password, bound to it. The
devices are the lab hosts: their ids are the agents' systemKeys, Commands run on them through the lab
engine (:mod:`toolkit.lab.jcagent`), and :meth:`LabDirectory.sync_agent` is what their agents do at a
check-in. Objects are stored in the JSON shapes of JumpCloud's published specs (research §6) so
:mod:`toolkit.lab.jcapi` serves them as-is.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from toolkit.lab import readback
from toolkit.lab.host import LabHost
from toolkit.lab.hostmachine import host_lock, machine_of
from toolkit.lab.jcagent import run_queued
from toolkit.lab.jcquery import error
from toolkit.lab.windows.state import Provision

LAB_API_KEY = "jcfix-lab-api-key-0123456789abcdef"  # a lab-only key, like the lab's WinRM password
DEFAULT_ORG_ID = "5f0c000000000000000000aa"
DEFAULT_SYNC_INTERVAL_S = 3.0  # a lab agent checks in every few seconds (a real one: about every minute)
# A lab choice: a real organisation sets its own policy (the spec does not give a default).
DEFAULT_PASSWORD_MIN_LENGTH = 8


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JcScenarioUser(_Model):
    """A JumpCloud user in a scenario (defaults: active, with a password)."""

    username: str
    system_username: str | None = None  # the Local User Account field
    state: Literal["STAGED", "ACTIVATED", "SUSPENDED"] = "ACTIVATED"
    activated: bool = True  # false: no password yet (Password Pending)
    account_locked: bool = False
    start_in_days: float | None = None  # a Scheduled Activation this many days after the lab starts
    email: str | None = None


class JcScenarioSystem(_Model):
    """How JumpCloud sees one lab host's device."""

    registered: bool = True  # false: the console has no device with this agent's systemKey
    active: bool | None = None  # default: the agent is installed and running
    last_contact_days_ago: float = 0.0


class JumpCloudScenario(_Model):
    """A scenario's ``jumpcloud:`` section: users, device overrides by hostname, bindings by hostname.

    ``multi_tenant``: the lab key is a multi-tenant admin's, so every call needs ``x-org-id``.
    ``password_min_length``: the organisation's password policy (a shorter password gets 400).
    ``agent_sync_interval_s``: seconds between two agent check-ins (JumpCloud changes reach a device then).
    """

    users: list[JcScenarioUser] = Field(default_factory=list)
    systems: dict[str, JcScenarioSystem] = Field(default_factory=dict)
    bindings: dict[str, list[str]] = Field(default_factory=dict)  # default: each host's jc_users
    multi_tenant: bool | None = None
    password_min_length: int | None = Field(default=None, ge=1)
    agent_sync_interval_s: float | None = Field(default=None, ge=0)


def object_id(kind: str, name: str) -> str:
    """A stable 24-hex id, shaped like JumpCloud's ObjectIds."""
    return hashlib.sha1(f"{kind}:{name}".encode()).hexdigest()[:24]


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class QueuedRun:
    """One command queued for one device."""

    command_id: str
    system_id: str
    workflow_instance_id: str
    queued_at: float
    state: Literal["queued", "running", "done", "expired", "cancelled"] = "queued"


@dataclass
class LabDirectory:
    """The lab organisation's state; every method is safe to call from the API's threads.

    Attributes:
        users, systems: by ``_id``, in the API's JSON shape.
        bindings: device id to bound user ids.
        scheduled: user id to pending ``{scheduledDate, state, ...}`` events.
        hosts: device id to the lab host it is.
        commands, results: Commands and their results, by ``_id``.
        emails: ``(kind, username)`` for every email the organisation would have sent.
        auto_sync: a user or binding change reaches the devices at their agents' next check-in.
        sync_interval_s: seconds to that check-in (a real agent: about a minute); 0 is at once.
        multi_tenant: the key is a multi-tenant admin's: every call needs ``x-org-id`` (V1 spec).
        password_min_length: the organisation's password policy.
    """

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    systems: dict[str, dict[str, Any]] = field(default_factory=dict)
    bindings: dict[str, set[str]] = field(default_factory=dict)
    scheduled: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    hosts: dict[str, LabHost] = field(default_factory=dict)
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)
    command_systems: dict[str, set[str]] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    queue: list[QueuedRun] = field(default_factory=list)
    emails: list[tuple[str, str]] = field(default_factory=list)
    api_key: str = LAB_API_KEY
    org_id: str = DEFAULT_ORG_ID
    auto_sync: bool = True
    sync_interval_s: float = DEFAULT_SYNC_INTERVAL_S
    multi_tenant: bool = False
    password_min_length: int = DEFAULT_PASSWORD_MIN_LENGTH
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    # ---- building ---------------------------------------------------------------------------------

    @classmethod
    def build(cls, hosts: Sequence[LabHost], section: JumpCloudScenario | None = None) -> LabDirectory:
        """The organisation for ``hosts``; each host's systemKey is made unique (a real agent's is)."""
        directory = cls()
        now = now_utc()
        if section is None:
            names = dict.fromkeys(u for h in hosts for u in h.jc_users)
            section = JumpCloudScenario(users=[JcScenarioUser(username=n) for n in names])
        if section.multi_tenant is not None:
            directory.multi_tenant = section.multi_tenant
        if section.password_min_length is not None:
            directory.password_min_length = section.password_min_length
        if section.agent_sync_interval_s is not None:
            directory.sync_interval_s = section.agent_sync_interval_s
        for spec in section.users:
            directory.add_user(spec, now)
        by_name = {u["username"]: uid for uid, u in directory.users.items()}
        seen_keys: set[str] = set()
        for host in hosts:
            agent = host.agent
            if not agent.installed or not agent.system_key:
                continue
            if agent.system_key in seen_keys:
                agent.system_key = object_id("system", host.hostname)
            seen_keys.add(agent.system_key)
            spec_system = section.systems.get(host.hostname, JcScenarioSystem())
            if not spec_system.registered:
                continue
            active = spec_system.active if spec_system.active is not None else agent.running
            directory.systems[agent.system_key] = {
                "_id": agent.system_key,
                "hostname": host.hostname,
                "displayName": host.hostname,
                "os": "Windows",
                "osFamily": "windows",
                "version": host.os_caption,
                "arch": "x86_64",
                "agentVersion": agent.version,
                "active": active,
                "lastContact": iso(now - timedelta(days=spec_system.last_contact_days_ago)),
                "created": iso(now - timedelta(days=400)),
                "organization": directory.org_id,
            }
            directory.hosts[agent.system_key] = host
            bound = section.bindings.get(host.hostname, host.jc_users)
            directory.bindings[agent.system_key] = {by_name[n] for n in bound if n in by_name}
        return directory

    def add_user(self, spec: JcScenarioUser, now: datetime | None = None) -> str:
        now = now or now_utc()
        user_id = object_id("user", spec.username)
        record: dict[str, Any] = {
            "_id": user_id,
            "username": spec.username,
            "email": spec.email or f"{spec.username.lower()}@example.com",
            "displayname": spec.username,
            "firstname": spec.username,
            "lastname": "",
            "state": spec.state,
            "activated": spec.activated,
            "suspended": spec.state == "SUSPENDED",
            "account_locked": spec.account_locked,
            "password_date": iso(now) if spec.activated else None,
            "password_expired": False,
            "created": iso(now - timedelta(days=30)),
        }
        if spec.system_username:
            record["systemUsername"] = spec.system_username
        self.users[user_id] = record
        if spec.start_in_days is not None:
            self.scheduled[user_id] = [
                {
                    "scheduledDate": iso(now + timedelta(days=spec.start_in_days)),
                    "scheduledJobId": object_id("job", spec.username),
                    "state": "ACTIVATED",
                    "systemUserId": user_id,
                }
            ]
        return user_id

    # ---- users ------------------------------------------------------------------------------------

    def update_user(self, user_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """``PUT /systemusers/{id}``: the fields jcfix changes, checked as the API checks them."""
        with self.lock:
            user = self.users.get(user_id)
            if user is None:
                return 404, error(404, "Not Found")
            refusal = self.password_refusal(body["password"]) if "password" in body else None
            if refusal:
                return 400, refusal  # refused whole: nothing else of the request is applied
            if "systemUsername" in body:
                wanted = body["systemUsername"] or None
                for other in self.users.values():
                    if other is user or wanted is None:
                        continue
                    taken = {other["username"].casefold(), str(other.get("systemUsername") or "").casefold()}
                    if wanted.casefold() in taken:
                        return 400, error(400, f"systemUsername {wanted} is already in use")
                if wanted is None:
                    user.pop("systemUsername", None)
                else:
                    user["systemUsername"] = wanted
            if "state" in body:
                if body["state"] not in ("ACTIVATED", "SUSPENDED"):
                    return 400, error(400, "state must be ACTIVATED or SUSPENDED")
                user["state"] = body["state"]
                user["suspended"] = body["state"] == "SUSPENDED"
            if "password" in body:
                user["activated"] = True
                user["password_date"] = iso(now_utc())
            if "account_locked" in body:
                user["account_locked"] = bool(body["account_locked"])
            answer = dict(user)
        self._changed()
        return 200, answer

    def password_refusal(self, password: Any) -> dict[str, Any] | None:
        """The API's 400 ``Error`` for a password the organisation's policy refuses, or None."""
        if not isinstance(password, str) or len(password) < self.password_min_length:
            return error(
                400, f"password does not meet the password policy: at least {self.password_min_length} characters"
            )
        return None

    def next_events(self, user_id: str) -> list[dict[str, Any]]:
        """The user's next upcoming scheduled event of each state (``NextScheduledBulkUserState_Get``)."""
        upcoming: dict[str, dict[str, Any]] = {}
        for event in sorted(self.scheduled.get(user_id, []), key=lambda e: str(e["scheduledDate"])):
            upcoming.setdefault(str(event["state"]), dict(event))
        return list(upcoming.values())

    def activate(self, user_id: str, email: Any) -> tuple[int, dict[str, Any]]:
        """``POST /systemusers/{id}/state/activate``: STAGED to ACTIVATED, and the email it sends."""
        with self.lock:
            user = self.users.get(user_id)
            if user is None:
                return 404, error(404, "Not Found")
            if user["state"] != "STAGED":
                return 400, error(400, f"user is {user['state']}, not STAGED")
            user["state"] = "ACTIVATED"
            self.scheduled.pop(user_id, None)
            if email is not False:
                self.emails.append(("welcome" if user["activated"] else "activation", user["username"]))
        self._changed()
        return 200, {}

    def send_activation(self, user_ids: Sequence[str]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            for user_id in user_ids:
                if user_id not in self.users:
                    return 404, error(404, "Not Found")
                self.emails.append(("activation", self.users[user_id]["username"]))
        return 200, {}

    def set_password_from_email(self, username: str) -> None:
        """The lab user follows the activation email and sets a password."""
        with self.lock:
            user = next(u for u in self.users.values() if u["username"] == username)
            user["activated"] = True
            user["password_date"] = iso(now_utc())
        self._changed()

    def user_id(self, username: str) -> str:
        return next(uid for uid, u in self.users.items() if u["username"] == username)

    # ---- agents -----------------------------------------------------------------------------------

    def _changed(self) -> None:
        if self.auto_sync:
            for system_id, host in list(self.hosts.items()):
                if self.systems.get(system_id, {}).get("active"):
                    self.sync_agent(host, delay_s=self.sync_interval_s)

    def sync_agent(self, host: LabHost, *, delay_s: float = 0.0) -> list[str]:
        """What the host's agent does at a check-in: provision or take over every bound, usable user.

        ``delay_s``: the check-in is that many seconds away (the accounts are due then; ``jcfix lab
        agent-sync`` makes them due at once).

        A user is usable when Active with a password. Its local name is the Local User Account when set.
        An existing account with exactly that name is taken over; none at all: the agent creates one (queued
        on the host's machine, whose agent sync before the host's next script creates it); an account that
        differs only in case is neither (JumpCloud matches case-sensitively, Windows refuses the duplicate):
        the agent logs an error. Returns the local names queued.
        """
        key = host.agent.system_key
        if not (host.agent.installed and host.agent.running and key in self.systems):
            return []
        queued = []
        with self.lock:
            users = [self.users[uid] for uid in sorted(self.bindings.get(key, set())) if uid in self.users]
        for user in users:
            local = user.get("systemUsername") or user["username"]
            self._mirror_suspension(host, local, suspended=user["state"] == "SUSPENDED")
            if user["state"] != "ACTIVATED" or not user["activated"]:
                continue
            with host_lock(host):
                existing = readback.account(host, local)
                if existing is not None and existing.name != local:
                    stamp = time.strftime("%Y/%m/%d %H:%M:%S")
                    readback.append_agent_log(
                        host, f"{stamp} [1234] [ERROR] cannot create user {local}: account {existing.name} exists"
                    )
                    continue
                state = machine_of(host).state
                if local in readback.managed_users(host) or any(p.username == local for p in state.provisions):
                    continue
                # Due at the agent's next check-in: the machine's agent sync (before a script) creates it then.
                due = state.clock + timedelta(seconds=delay_s)
                state.provisions.append(Provision(local, user["displayname"], due))
            queued.append(local)
        return queued

    @staticmethod
    def _mirror_suspension(host: LabHost, local: str, *, suspended: bool) -> None:
        """A managed account follows its user's state at a check-in: disabled while Suspended, enabled again
        once Active. JumpCloud documents that suspension denies the user at the next sign-in
        (support.jumpcloud.com/s/article/Suspend); that the agent does it by disabling the local account,
        and enables it again on reactivation, is UNCONFIRMED (research §5)."""
        with host_lock(host):
            account = readback.account(host, local)
            if account is None or local not in readback.managed_users(host) or account.enabled == (not suspended):
                return
            account.enabled = not suspended
            stamp = time.strftime("%Y/%m/%d %H:%M:%S")
            verb = "disabled" if suspended else "enabled"
            readback.append_agent_log(host, f"{stamp} [1234] [INFO] {verb} user {local}: JumpCloud state changed")

    # ---- commands ---------------------------------------------------------------------------------

    def run_command(self, command_id: str, system_ids: Sequence[str] | None) -> tuple[int, dict[str, Any]]:
        """``POST /runCommand``: queue the command on each device; an online agent runs it soon."""
        with self.lock:
            command = self.commands.get(command_id)
            if command is None:
                return 404, error(404, "Not Found")
            targets = list(system_ids) if system_ids else sorted(self.command_systems.get(command_id, set()))
            unbound = [s for s in targets if s not in self.command_systems.get(command_id, set())]
            if unbound:
                return 400, error(400, f"command is not associated with systems {', '.join(unbound)}")
            instance = secrets.token_hex(12)
            runs = [QueuedRun(command_id, s, instance, time.monotonic()) for s in targets]
            self.queue.extend(runs)
        for run in runs:
            threading.Thread(target=run_queued, args=(self, run), name="jcfix-lab-command", daemon=True).start()
        return 200, {"queueIds": [secrets.token_hex(12) for _ in runs], "workflowInstanceId": instance}

    def delete_command(self, command_id: str) -> bool:
        with self.lock:
            found = self.commands.pop(command_id, None) is not None
            self.command_systems.pop(command_id, None)
            for run in self.queue:
                if run.command_id == command_id and run.state == "queued":
                    run.state = "cancelled"
        return found
