"""Inventories: which hosts to run on, how to reach each, and what each should have.

YAML::

    ca_cert: /path/ca.pem       # optional: the CA that signs these hosts' HTTPS certificates
    vars: {auth: ntlm}          # optional: variables and connection settings for every host
    groups:                     # optional
      office-berlin:
        vars: {scheme: https, port: 5986, jc_users: [jonathan]}
        hosts: [pc-0001, pc-0002]          # names, or a mapping of name -> host entry
    hosts:                      # optional when groups list the hosts
      pc-0001:
        address: 127.0.0.2      # optional, defaults to the name
        port: 5985              # optional
        scheme: http            # optional: http | https
        auth: basic             # optional
        jc_users: [Jonathan]    # the JumpCloud usernames expected on this host
        vars: {site: HQ}        # optional: the host's own variables

A host's variables are the top-level ``vars``, then each of its groups' ``vars`` in the order the groups
are written, then its own entry (later wins). Its groups are in the variable ``group_names``. An unknown
key is refused with the nearest known one, and so is a secret (``password``...) anywhere: secrets come
from the environment or the keyring, never from an inventory.

CSV (``.csv``), one host per row; the header names the columns::

    host,jc_users,address,port,scheme,auth,groups,site
    pc-0001,jonathan;maria,127.0.0.2,5985,http,basic,berlin;laptops,HQ

``host`` is required; ``jc_users`` and ``groups`` hold several values separated by ``;`` (or ``|``);
empty cells are not set; any other column becomes a text variable, unless its name is a secret or a
near miss of a known column (``adress``).

``--host`` values (``name`` or ``name:port``) make an ad-hoc inventory; ``--limit`` (:func:`apply_limit`)
narrows either.
"""

from __future__ import annotations

import csv
import fnmatch
import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from toolkit.errors import UsageError
from toolkit.inventory_keys import refuse_key
from toolkit.naming import check_jumpcloud_name
from toolkit.settings import AUTH_METHODS
from toolkit.textvalues import plural
from toolkit.transport.base import HostTarget
from toolkit.yamllines import MAX_INVENTORY_BYTES, Locations, describe_path, parse_yaml, read_text_file

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_CONNECTION_KEYS = {"address", "port", "scheme", "auth", "ca_cert"}
_HOST_KEYS = {*_CONNECTION_KEYS, "jc_users", "vars"}
_CSV_COLUMNS = {*_CONNECTION_KEYS, "host", "jc_users", "groups"}
# Separators of multi-valued CSV cells (jc_users, groups).
CSV_LIST_SEPARATORS = re.compile(r"[;|]")
GROUP_NAMES_VAR = "group_names"


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


def _fail(locations: Locations, path: Sequence[str | int], message: str) -> UsageError:
    return UsageError(f"{locations.where(path)}: {describe_path(path)}: {message}")


def _check_connection(values: dict[str, Any], locations: Locations, path: tuple[str | int, ...]) -> None:
    """Connection settings in a host entry or a ``vars`` block: right type and range, named on error."""
    if "address" in values:
        try:
            validate_hostname(str(values["address"]))
        except UsageError as exc:
            raise _fail(locations, (*path, "address"), str(exc)) from None
    port = values.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535):
        raise _fail(locations, (*path, "port"), f"must be a port number 1..65535, not {port!r}")
    scheme = values.get("scheme")
    if scheme is not None and scheme not in ("http", "https"):
        raise _fail(locations, (*path, "scheme"), f"must be http or https, not {scheme!r}")
    auth = values.get("auth")
    if auth is not None and auth not in AUTH_METHODS:
        raise _fail(locations, (*path, "auth"), f"must be one of {', '.join(AUTH_METHODS)}, not {auth!r}")
    ca_cert = values.get("ca_cert")
    if ca_cert is not None and not isinstance(ca_cert, str):
        raise _fail(locations, (*path, "ca_cert"), "must be a file path")
    jc_users = values.get("jc_users")
    if jc_users is not None and not (
        isinstance(jc_users, str) or (isinstance(jc_users, list) and all(isinstance(u, str) for u in jc_users))
    ):
        raise _fail(locations, (*path, "jc_users"), "must be a username or a list of usernames")
    for name in [jc_users] if isinstance(jc_users, str) else jc_users or []:
        try:
            check_jumpcloud_name(name)
        except ValueError as exc:
            raise _fail(locations, (*path, "jc_users"), str(exc)) from None


def _mapping(value: Any, locations: Locations, path: tuple[str | int, ...], what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(locations, path, f"{what} must be a mapping")
    return value


def _check_keys(
    values: dict[str, Any],
    known: Iterable[str],
    locations: Locations,
    path: tuple[str | int, ...],
    near_only: bool = False,
    otherwise: str = "",
) -> None:
    """Refuse the first key of ``values`` that :func:`~toolkit.inventory_keys.refuse_key` refuses, by line."""
    for key in values:
        reason = refuse_key(str(key), known, near_only, otherwise)
        if reason is not None:
            raise _fail(locations, (*path, key), reason)


def _vars_block(value: Any, locations: Locations, path: tuple[str | int, ...]) -> dict[str, Any]:
    """A ``vars`` mapping: free variable names, but no secrets and no near misses of connection keys."""
    block = _mapping(value, locations, path, "vars")
    _check_keys(block, _HOST_KEYS - {"vars"}, locations, path, near_only=True)
    _check_connection(block, locations, path)
    return block


def _host_entry(entry: Any, locations: Locations, path: tuple[str | int, ...], name: str) -> dict[str, Any]:
    """A host's own entry, checked key by key; its ``vars`` come first, its direct keys win over them."""
    values = _mapping(entry, locations, path, f"host {name!r}")
    _check_keys(values, _HOST_KEYS, locations, path, otherwise="a host's own variables go under vars:")
    own = {k: v for k, v in values.items() if k != "vars"}
    return {**_vars_block(values.get("vars"), locations, (*path, "vars")), **own}


def _target(name: str, values: dict[str, Any], locations: Locations, path: tuple[str | int, ...]) -> HostTarget:
    if "address" not in values:
        try:
            validate_hostname(name)
        except UsageError as exc:
            raise _fail(locations, path or ("host",), f"{exc} (give it an address:)") from None
    _check_connection(values, locations, path)
    address = values.get("address")
    jc_users = values.get("jc_users")
    variables = {k: v for k, v in values.items() if k not in _CONNECTION_KEYS}
    if isinstance(jc_users, str):
        variables["jc_users"] = [jc_users]
    return HostTarget(
        name=name,
        address=validate_hostname(str(address)) if address is not None else None,
        port=values.get("port"),
        scheme=values.get("scheme"),
        auth=values.get("auth"),
        ca_cert=values.get("ca_cert"),
        vars=variables,
    )


_TOP_KEYS = {"hosts", "groups", "vars", "ca_cert"}


# name -> (values merged so far, groups, path of its entry for errors); insertion order is host order.
_Merged = dict[str, tuple[dict[str, Any], list[str], tuple[str | int, ...]]]


def load_yaml_inventory(path: Path) -> list[HostTarget]:
    """Hosts from a YAML inventory; errors name the file, the line and the field."""
    text = read_text_file(path, "inventory", MAX_INVENTORY_BYTES)
    # The line map (a field path per value) is most of the memory of loading a large inventory, and only an
    # error needs it: check without it, and parse again with it only to name the line of an error.
    document, locations = parse_yaml(text, str(path), lines=False)
    try:
        return _yaml_targets(document, locations)
    except UsageError:
        return _yaml_targets(*parse_yaml(text, str(path)))


def _yaml_targets(document: Any, locations: Locations) -> list[HostTarget]:
    """The hosts of a parsed YAML inventory, checked; errors name the lines ``locations`` has."""
    if document is None:
        document = {}
    ca_cert, common = _top_level(document, locations)
    hosts = _mapping(document.get("hosts"), locations, ("hosts",), "hosts")
    groups = _mapping(document.get("groups"), locations, ("groups",), "groups")
    merged: _Merged = {str(name): ({**common}, [], ("hosts", name)) for name in hosts}
    for group_name, group in groups.items():
        _merge_group(group_name, group, common, merged, locations)
    targets = []
    for name, (values, member_groups, where) in merged.items():
        values.update(_host_entry(hosts.get(name), locations, where, name))
        if member_groups:
            values[GROUP_NAMES_VAR] = member_groups
        values.setdefault("ca_cert", ca_cert)
        if values["ca_cert"] is None:
            del values["ca_cert"]
        targets.append(_target(name, values, locations, where))
    return targets


def _top_level(document: Any, locations: Locations) -> tuple[str | None, dict[str, Any]]:
    """The inventory's top-level checks; returns its ``ca_cert`` and its common ``vars``."""
    if not isinstance(document, dict):
        raise UsageError(f"{locations.where(())}: an inventory is a mapping with 'hosts:' and/or 'groups:'")
    _check_keys(document, _TOP_KEYS, locations, ())
    if not isinstance(document.get("hosts"), dict) and not document.get("groups"):
        raise UsageError(f"{locations.where(())}: an inventory needs a 'hosts:' mapping or 'groups:' of hosts")
    ca_cert = document.get("ca_cert")
    if ca_cert is not None and not isinstance(ca_cert, str):
        raise _fail(locations, ("ca_cert",), "must be a file path")
    common = _vars_block(document.get("vars"), locations, ("vars",))
    if "address" in common:
        raise _fail(locations, ("vars", "address"), "an address belongs to one host, not to every host")
    return ca_cert, common


def _merge_group(group_name: str, group: Any, common: dict[str, Any], merged: _Merged, locations: Locations) -> None:
    """Add one group's vars and name to each of its members in ``merged`` (members new so far are added)."""
    gpath: tuple[str | int, ...] = ("groups", group_name)
    group = _mapping(group, locations, gpath, f"group {group_name!r}")
    _check_keys(group, {"hosts", "vars"}, locations, gpath)
    group_vars = _vars_block(group.get("vars"), locations, (*gpath, "vars"))
    if "address" in group_vars:
        raise _fail(locations, (*gpath, "vars", "address"), "an address belongs to one host, not to a group")
    for member, entry in _group_members(group.get("hosts") or [], locations, gpath).items():
        epath: tuple[str | int, ...] = (*gpath, "hosts", member)
        values, member_groups, _ = merged.setdefault(str(member), ({**common}, [], epath))
        values.update(group_vars)
        values.update(_host_entry(entry, locations, epath, str(member)))
        member_groups.append(str(group_name))


def _group_members(members: Any, locations: Locations, gpath: tuple[str | int, ...]) -> dict[str, Any]:
    """A group's ``hosts``: a list of names, or a mapping of names to per-host values."""
    if isinstance(members, list):
        for index, member in enumerate(members):
            if not isinstance(member, str):
                raise _fail(locations, (*gpath, "hosts", index), "must be a host name")
        return dict.fromkeys(members)
    if isinstance(members, dict):
        return members
    raise _fail(locations, (*gpath, "hosts"), "must be a list of host names or a mapping of hosts")


def _csv_list(cell: str) -> list[str]:
    return [part.strip() for part in CSV_LIST_SEPARATORS.split(cell) if part.strip()]


def load_csv_inventory(path: Path) -> list[HostTarget]:
    """Hosts from a CSV inventory (see the module docstring); errors name the file, the line and the column."""
    reader = csv.reader(read_text_file(path, "inventory", MAX_INVENTORY_BYTES).splitlines())
    try:
        header = [column.strip() for column in next(reader)]
    except StopIteration:
        raise UsageError(f"{path}: empty CSV inventory (the first line is the header: host,jc_users,...)") from None
    if "host" not in header:
        raise UsageError(f"{path}:1: the header has no 'host' column (it reads: {','.join(header)})")
    if len(set(header)) != len(header):
        raise UsageError(f"{path}:1: a column is named twice in the header")
    for column in header:
        reason = refuse_key(column, _CSV_COLUMNS, near_only=True)
        if reason is not None:
            raise UsageError(f"{path}:1: column {column!r}: {reason.replace('unknown key', 'unknown column')}")
    targets = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise UsageError(f"{path}:{line}: {len(row)} cells, the header has {len(header)} columns")
        cells = {column: cell.strip() for column, cell in zip(header, row, strict=True) if cell.strip()}
        locations = Locations(str(path), {(): line})
        name = cells.pop("host", "")
        if not name:
            raise UsageError(f"{path}:{line}: host: empty")
        values: dict[str, Any] = dict(cells)
        if "port" in values:
            if not values["port"].isdigit():
                raise UsageError(f"{path}:{line}: port: must be a port number 1..65535, not {values['port']!r}")
            values["port"] = int(values["port"])
        values["jc_users"] = _csv_list(cells.get("jc_users", ""))
        groups = _csv_list(values.pop("groups", ""))
        if groups:
            values[GROUP_NAMES_VAR] = groups
        targets.append(_target(name, values, locations, ()))
    return targets


def load_inventory(path: Path) -> list[HostTarget]:
    """Hosts from a YAML or (``.csv``) CSV inventory; errors name the file, the line and the field."""
    if path.suffix.lower() == ".csv":
        return load_csv_inventory(path)
    return load_yaml_inventory(path)


RunHosts = Callable[[str], set[str]]  # a "@RUN:kind" --limit pattern -> the host names it selects


def _pattern_matches(pattern: str, target: HostTarget, run_hosts: RunHosts | None = None) -> bool:
    if pattern.startswith("@"):
        if run_hosts is None:
            raise UsageError(f"--limit {pattern!r}: @RUN patterns need the run history")
        return target.name in run_hosts(pattern)
    groups = target.vars.get(GROUP_NAMES_VAR) or []
    names = [target.name, *groups]
    return any(fnmatch.fnmatchcase(name.lower(), pattern.lower()) for name in names)


def _did_you_mean(patterns: Sequence[str], targets: Sequence[HostTarget]) -> str:
    """`` (did you mean A, B?)`` with the host and group names nearest the patterns, or nothing."""
    import difflib

    names: dict[str, str] = {}
    for target in targets:
        for name in [target.name, *(target.vars.get(GROUP_NAMES_VAR) or [])]:
            names.setdefault(str(name).casefold(), str(name))
    near: list[str] = []
    for pattern in patterns:
        if pattern.startswith("@="):  # one host by its exact name: the nearest names may be what was meant
            pattern = pattern[2:]
        if not pattern.startswith("@"):
            near += [names[n] for n in difflib.get_close_matches(pattern.casefold(), list(names), n=2, cutoff=0.7)]
    if patterns and all(p.startswith("@") and not p.startswith("@=") for p in patterns):
        return "; the run has no such host in this inventory"
    near = list(dict.fromkeys(near))[:2]  # two at most: the error stays one line of 80 columns
    return f"; did you mean {' or '.join(near)}?" if near else ""


def apply_limit(
    targets: Sequence[HostTarget], limit: str | None, run_hosts: RunHosts | None = None
) -> list[HostTarget]:
    """The targets ``limit`` selects, in their order.

    ``limit`` is comma-separated patterns (shell wildcards, matched without case against host names and
    group names); ``!pattern`` excludes. With only exclusions, every other host is selected. ``@RUN:kind``
    (``failed``, ``changed``, ``all``) names hosts by how run RUN went, through ``run_hosts``
    (:func:`toolkit.services.targeting.run_resolver`). Nothing selected is a :class:`UsageError` naming the
    nearest host and group names.
    """
    if limit is None:
        return list(targets)
    if not limit.strip():
        raise UsageError("--limit is empty: name hosts or groups (or leave --limit out for every host)")
    patterns = [p.strip() for p in limit.split(",") if p.strip()]
    include = [p for p in patterns if not p.startswith("!")]
    exclude = [p[1:].strip() for p in patterns if p.startswith("!")]
    if any(not p for p in exclude):
        raise UsageError(f"--limit {limit!r}: '!' must be followed by a pattern")
    selected = [
        t
        for t in targets
        if (not include or any(_pattern_matches(p, t, run_hosts) for p in include))
        and not any(_pattern_matches(p, t, run_hosts) for p in exclude)
    ]
    if not selected:
        hint = _did_you_mean(include, targets)
        raise UsageError(f"--limit {limit!r} matches none of the {plural(len(targets), 'host')}{hint}")
    return selected


def resolve_targets(
    hosts: Iterable[str], inventory: Path | None, limit: str | None = None, run_hosts: RunHosts | None = None
) -> list[HostTarget]:
    """The run's hosts: the inventory's, then each ``--host``, narrowed by ``limit``; at least one, no duplicates.

    ``run_hosts``: how ``@RUN:kind`` patterns of ``limit`` are resolved (see :func:`apply_limit`).
    """
    if inventory is not None and str(inventory).startswith("jumpcloud:"):
        # The jumpcloud inventory source (toolkit.jumpcloud.inventory): devices and bound users from the API.
        from toolkit.jumpcloud.inventory import load_jumpcloud_inventory

        targets = load_jumpcloud_inventory(str(inventory))
    else:
        targets = load_inventory(inventory) if inventory is not None else []
    targets += [parse_host_arg(h) for h in hosts]
    if not targets:
        raise UsageError("no hosts: give --host NAME or --inventory FILE")
    seen: set[str] = set()
    for target in targets:
        if target.name in seen:
            raise UsageError(f"host {target.name!r} is listed twice")
        seen.add(target.name)
    return apply_limit(targets, limit, run_hosts)
