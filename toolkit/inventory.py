"""Inventories: which hosts to run on, how to reach each, and what each should have.

YAML::

    hosts:
      pc-0001:
        address: 127.0.0.2      # optional, defaults to the name
        port: 5985              # optional
        scheme: http            # optional: http | https
        auth: basic             # optional
        jc_users: [Jonathan]    # per-host variables
    ca_cert: /path/ca.pem       # optional: the CA that signs these hosts' HTTPS certificates

``--host`` values (``name`` or ``name:port``) make an ad-hoc inventory.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from toolkit.errors import UsageError
from toolkit.settings import AUTH_METHODS
from toolkit.transport.base import HostTarget

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_CONNECTION_KEYS = {"address", "port", "scheme", "auth", "ca_cert"}


def validate_hostname(value: str) -> str:
    """``value`` if it is a DNS name or an IP address; raises :class:`UsageError` otherwise."""
    text = value.strip()
    if not text:
        raise UsageError("empty host name")
    try:
        ipaddress.ip_address(text.strip("[]"))
        return text.strip("[]")
    except ValueError:
        pass
    name = text[:-1] if text.endswith(".") else text
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise UsageError(f"invalid host {value!r}: not a DNS name or IP address")
    return name


def parse_host_arg(value: str) -> HostTarget:
    """A ``--host`` value: ``name``, ``name:port``, ``1.2.3.4:port`` or ``[::1]:port``."""
    text = value.strip()
    port: int | None = None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = _parse_port(rest[1:], value)
        elif rest:
            raise UsageError(f"invalid host {value!r}")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _parse_port(port_text, value)
    else:
        host = text
    return HostTarget(name=validate_hostname(host), port=port)


def _parse_port(text: str, original: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise UsageError(f"invalid port in {original!r}: must be 1..65535")
    return int(text)


def _line_of(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"^\s*{re.escape(key)}\s*:", line):
            return number
    return None


def load_inventory(path: Path) -> list[HostTarget]:
    """Hosts from a YAML inventory; errors name the file, the line and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read inventory: {exc.strerror}") from None
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{path}{where}: not valid YAML") from None
    if not isinstance(document, dict) or not isinstance(document.get("hosts"), dict):
        raise UsageError(f"{path}: an inventory needs a 'hosts:' mapping of host names")
    ca_cert = document.get("ca_cert")
    if ca_cert is not None and not isinstance(ca_cert, str):
        raise UsageError(f"{path}: ca_cert must be a file path")
    targets = []
    for name, entry in document["hosts"].items():
        line = _line_of(text, str(name))
        where = f"{path}:{line}" if line else str(path)
        entry = entry or {}
        if not isinstance(entry, dict):
            raise UsageError(f"{where}: host {name!r} must be a mapping")
        target = _target_from_entry(str(name), entry, where)
        targets.append(replace(target, ca_cert=target.ca_cert or ca_cert))
    return targets


def _target_from_entry(name: str, entry: dict[str, Any], where: str) -> HostTarget:
    try:
        validate_hostname(name) if "address" not in entry else None
        address = validate_hostname(str(entry["address"])) if "address" in entry else None
    except UsageError as exc:
        raise UsageError(f"{where}: host {name!r}: {exc}") from None
    port = entry.get("port")
    if port is not None and (not isinstance(port, int) or not 1 <= port <= 65535):
        raise UsageError(f"{where}: host {name!r}: port must be 1..65535")
    scheme = entry.get("scheme")
    if scheme is not None and scheme not in ("http", "https"):
        raise UsageError(f"{where}: host {name!r}: scheme must be http or https")
    auth = entry.get("auth")
    if auth is not None and auth not in AUTH_METHODS:
        raise UsageError(f"{where}: host {name!r}: auth must be one of {', '.join(AUTH_METHODS)}")
    variables = {k: v for k, v in entry.items() if k not in _CONNECTION_KEYS}
    ca_cert = entry.get("ca_cert")
    return HostTarget(name=name, address=address, port=port, scheme=scheme, auth=auth, ca_cert=ca_cert, vars=variables)


def resolve_targets(hosts: Iterable[str], inventory: Path | None) -> list[HostTarget]:
    """The run's hosts: the inventory's, then each ``--host``; at least one, no duplicates."""
    targets = load_inventory(inventory) if inventory is not None else []
    targets += [parse_host_arg(h) for h in hosts]
    if not targets:
        raise UsageError("no hosts: give --host NAME or --inventory FILE")
    seen: set[str] = set()
    for target in targets:
        if target.name in seen:
            raise UsageError(f"host {target.name!r} is listed twice")
        seen.add(target.name)
    return targets
