"""Lab scenarios: fleets of simulated hosts described in YAML, plus a seeded random generator.

A scenario file::

    name: healthy
    description: One line shown by ``jcfix lab scenarios``.
    include: [other_scenario]     # optional: their hosts come first
    defaults: {ps_version: 5.1.19041.4522}   # optional: merged into every host below
    hosts:
      - hostname: lab-healthy
        users:
          - {name: alice, full_name: Alice Example, rid: 1001}
        jc_users: [alice]         # the JumpCloud usernames expected on this host

Every field of a host is a :class:`toolkit.lab.host.LabHost` field; unknown keys are errors naming the
file and the field. The built-in scenarios ship beside this module; ``random`` is generated.
"""

from __future__ import annotations

import importlib.resources
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit.errors import UsageError
from toolkit.lab.host import LabAgent, LabHost, LabUser
from toolkit.lab.jcdirectory import JumpCloudScenario
from toolkit.yamllines import read_text_file, safe_load_bounded

RANDOM_SCENARIO = "random"


class ScenarioError(UsageError):
    """A scenario that cannot be loaded; the message names the file and the field."""


class Scenario(BaseModel):
    """A named fleet of simulated hosts."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    include: list[str] = Field(default_factory=list)
    defaults: dict[str, Any] = Field(default_factory=dict)
    hosts: list[dict[str, Any]] = Field(default_factory=list)
    # The lab JumpCloud organisation's users, devices and bindings (toolkit.lab.jcdirectory); optional.
    jumpcloud: JumpCloudScenario | None = None


def builtin_names() -> list[str]:
    """The built-in scenarios, and ``random``."""
    root = importlib.resources.files(__name__)
    names = sorted(p.name.rsplit(".", 1)[0] for p in root.iterdir() if p.name.endswith((".yaml", ".yml")))
    return [*names, RANDOM_SCENARIO]


def _builtin_text(name: str) -> tuple[str, str] | None:
    root = importlib.resources.files(__name__)
    for suffix in (".yaml", ".yml"):
        resource = root.joinpath(name + suffix)
        try:
            found = resource.is_file()
        except OSError:  # a name the OS refuses (too long...) is no built-in scenario
            found = False
        if found:
            return f"built-in scenario {name}", resource.read_text(encoding="utf-8")
    return None


def _read(name_or_path: str | Path) -> tuple[str, str]:
    """``(label for messages, YAML text)`` of a built-in name or a file path."""
    text = str(name_or_path)
    if not text.endswith((".yaml", ".yml")) and "/" not in text:
        found = _builtin_text(text)
        if found is not None:
            return found
        known = ", ".join(builtin_names())
        raise ScenarioError(f"unknown scenario {text!r} (built-in: {known}; or give a .yaml file)")
    path = Path(text)
    try:  # bounded in size; a missing, unreadable or binary file is refused naming it
        return str(path), read_text_file(path, "scenario file")
    except UsageError as exc:
        raise ScenarioError(str(exc)) from None


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def load_scenario(name_or_path: str | Path, _seen: tuple[str, ...] = ()) -> tuple[Scenario, list[LabHost]]:
    """The scenario and its validated hosts (included scenarios' hosts first)."""
    label, text = _read(name_or_path)
    try:
        raw = safe_load_bounded(text, label)
    except UsageError as exc:  # past the alias or depth bounds
        raise ScenarioError(str(exc)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ScenarioError(f"{label}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{label}: expected a mapping with 'name' and 'hosts'")
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ScenarioError(f"{label}: {_where(first['loc'])}: {first['msg']}") from None
    hosts: list[LabHost] = []
    for included in scenario.include:
        if included in _seen:
            raise ScenarioError(f"{label}: include: {included!r} includes itself")
        hosts.extend(load_scenario(included, (*_seen, scenario.name))[1])
    for index, entry in enumerate(scenario.hosts):
        try:
            hosts.append(LabHost.model_validate(_merge(scenario.defaults, entry)))
        except ValidationError as exc:
            first = exc.errors()[0]
            name = entry.get("hostname", "?") if isinstance(entry, dict) else "?"
            where = _where(("hosts", index, *first["loc"]))
            raise ScenarioError(f"{label}: {where} (host {name}): {first['msg']}") from None
    names = [h.hostname.lower() for h in hosts]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ScenarioError(f"{label}: hosts: hostname used twice: {', '.join(duplicates)}")
    return scenario, hosts


def describe(name: str) -> str:
    """The one-line description of a built-in scenario."""
    if name == RANDOM_SCENARIO:
        return "N generated hosts mixing every case, reproducible from --seed (for benchmarks)."
    return load_scenario(name)[0].description


def load_hosts(name_or_path: str | Path, count: int | None = None, seed: int = 1) -> list[LabHost]:
    """Fresh hosts of a scenario (each builds its own machine, which scripts change, so every call gives new objects).

    Args:
        name_or_path: a built-in scenario name, ``random``, or a YAML file.
        count: how many hosts (default: the scenario's own; 10 for ``random``). With a count that differs
            from the scenario's, its hosts are repeated in order and named ``HOSTNAME-0001``...
        seed: the random generator's seed (``random`` only; default 1).
    """
    if count is not None and count < 1:
        raise ScenarioError("--hosts must be at least 1")
    if str(name_or_path) == RANDOM_SCENARIO:
        return random_hosts(count or 10, seed)
    _, hosts = load_scenario(name_or_path)
    if not hosts:
        raise ScenarioError(f"scenario {name_or_path}: hosts: none defined")
    if count is None or count == len(hosts):
        return hosts
    width = max(4, len(str(count)))
    return [
        hosts[i % len(hosts)].model_copy(
            deep=True, update={"hostname": f"{hosts[i % len(hosts)].hostname}-{i + 1:0{width}d}"}
        )
        for i in range(count)
    ]


_FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar"]
_LAST = ["smith", "jones", "garcia", "miller", "davis", "lopez", "wilson", "moore", "taylor", "clark"]


def _builtin_accounts() -> list[LabUser]:
    return [
        LabUser(
            name="Administrator",
            rid=500,
            enabled=False,
            description="Built-in account for administering the computer/domain",
        ),
        LabUser(name="DefaultAccount", rid=503, enabled=False, description="A user account managed by the system."),
        LabUser(name="Guest", rid=501, enabled=False, description="Built-in account for guest access"),
    ]


def random_hosts(count: int, seed: int = 1) -> list[LabHost]:
    """``count`` hosts mixing every case (space, case, Microsoft account, PIN, picture password, full-name
    match, missing account, agent stopped/missing, signed in, 32-bit endpoint), the same for the same seed."""
    rng = random.Random(seed)
    hosts = []
    width = max(4, len(str(count)))
    for index in range(count):
        users = _builtin_accounts()
        jc_users: list[str] = []
        for rid in range(1001, 1001 + rng.randint(1, 3)):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            username = f"{first}.{last}"
            case = rng.random()
            user = LabUser(
                name=username,
                full_name=f"{first.title()} {last.title()}",
                rid=rid,
                profile_path=f"C:\\Users\\{username}",
                last_logon="2025-01-15T08:30:00Z",
            )
            jc_name = username
            if case < 0.08:
                user.name = f"{first} {last}"
            elif case < 0.16:
                jc_name = username.title()
            elif case < 0.24:
                user.principal_source = "MicrosoftAccount"
                user.msa_email = f"{username}@outlook.com"
            elif case < 0.32:
                user.hello_pin = True
            elif case < 0.38:
                user.picture_password = True
            elif case < 0.44:
                user.name = f"{first[:2]}{rid}"
                user.full_name = username
            elif case < 0.50:
                user.signed_in = user.profile_loaded = True
            users.append(user)
            jc_users.append(jc_name)
        if rng.random() < 0.05:
            jc_users.append(f"newhire{index}")  # bound in JumpCloud, no local account yet
        agent_roll = rng.random()
        agent = LabAgent(managed_users=[u for u in jc_users if rng.random() < 0.5])
        if agent_roll < 0.05:
            agent = LabAgent(installed=False, running=False, system_key=None, version="")
        elif agent_roll < 0.10:
            agent.running = False
        hosts.append(
            LabHost(
                hostname=f"pc-{index + 1:0{width}d}",
                is_64bit_process=rng.random() >= 0.03,
                users=users,
                agent=agent,
                jc_users=jc_users,
            )
        )
    return hosts


__all__ = [
    "RANDOM_SCENARIO",
    "Scenario",
    "ScenarioError",
    "builtin_names",
    "describe",
    "load_hosts",
    "load_scenario",
    "random_hosts",
]
