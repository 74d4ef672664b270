"""What ``jcfix diagnose`` asks the JumpCloud API, once per run, after the hosts' facts are in."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from toolkit.facts import HostFacts
from toolkit.jumpcloud.client import JumpCloudClient, JumpCloudError, find_api_key, load_config
from toolkit.jumpcloud.facts import JumpCloudFacts, read_facts
from toolkit.rules.decided import DecidedFacts
from toolkit.runner import HostReport


def _facts_of(report: HostReport) -> HostFacts | None:
    if not report.results:
        return None
    data = report.results[0][1].data
    return data if isinstance(data, HostFacts) else None


def read_for_reports(
    reports: Sequence[HostReport], *, enabled: bool | None, org_id: str | None = None
) -> JumpCloudFacts | None:
    """JumpCloud's view of these hosts' devices and of all users; None when the API is off or has no key.

    ``enabled``: True (``--jc-api``) requires a key and fails on an API error; None (the default) reads
    the API when a key is configured and, on an API error, warns and leaves the JumpCloud findings out;
    False (``--no-jc-api``) never calls it.
    """
    if enabled is False:
        return None
    if find_api_key() is None:
        if enabled:
            raise JumpCloudError(
                "--jc-api needs a JumpCloud API key: set JCFIX_JC_API_KEY or use the keyring", kind="usage"
            )
        return None
    keys = [DecidedFacts.from_raw(f).system_key for f in map(_facts_of, reports) if f is not None]
    try:
        with JumpCloudClient(load_config(org_id=org_id)) as client:
            return read_facts(client, keys)
    except JumpCloudError as exc:
        if enabled:
            raise
        print(f"jcfix: warning: {exc.message}; JumpCloud findings are left out", file=sys.stderr)
        return None


def bound_users(jc: JumpCloudFacts | None, report: HostReport) -> list[str]:
    """The users JumpCloud binds to the host's device: who to check when nothing else says."""
    facts = _facts_of(report)
    key = DecidedFacts.from_raw(facts).system_key if facts is not None else None
    if jc is None or not key:
        return []
    return jc.bound_usernames(key)
