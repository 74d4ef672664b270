"""Issue 14 (memory): a 10,000-host inventory loads without a node tree's peak, and keeps one copy of each
repeated string.

Building the data from the parser's events (toolkit/yamlevents.py) instead of composing every node first,
and building the line map only when an error needs a line, took the traced peak of ``load_inventory`` at
10,000 hosts from ~74 MB to ~13 MB (the bound below fails either step undone), and the hosts no longer
keep ~50,000 copies of ``https``, ``ntlm`` and ``jc_users``.
Memory is counted by tracemalloc, not timed: the test cannot depend on the machine's speed.
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest

from toolkit.errors import UsageError
from toolkit.inventory import load_inventory

HOSTS = 10_000
PEAK_BOUND = 20 * 1024 * 1024  # node path ~74 MB; events with the line map ~23 MB; events without it ~13 MB
USERS = ["judy.jones", "heidi.smith", "oscar.miller", "bob.lopez", "newhire2"]


def write_lab_inventory(path: Path, count: int) -> None:
    """An inventory in the lab's format (what toolkit.lab.fleet.write_inventory's yaml.safe_dump writes)."""
    entries = []
    for n in range(count):
        users = "".join(f"    - {user}\n" for user in USERS[: 1 + n % 3])
        entries.append(
            f"  pc-{n:05d}:\n    address: 127.3.{n // 250}.{n % 250 + 1}\n    port: {30000 + n}\n"
            f"    scheme: https\n    auth: ntlm\n    jc_users:\n{users}"
        )
    path.write_text("hosts:\n" + "".join(entries), encoding="utf-8")


def test_a_10000_host_inventory_loads_within_the_memory_bound(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    write_lab_inventory(path, HOSTS)
    gc.collect()
    tracemalloc.start()
    try:
        targets = load_inventory(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(targets) == HOSTS
    assert targets[-1].address == "127.3.39.250" and targets[-1].port == 39999
    assert targets[-1].vars["jc_users"] == USERS[:1]
    assert peak < PEAK_BOUND, f"peak {peak / 2**20:.1f} MB"
    # One object per repeated value, not one per host.
    assert len({id(t.scheme) for t in targets}) == 1 and len({id(t.auth) for t in targets}) == 1
    assert len({id(user) for t in targets for user in t.vars["jc_users"]}) == len(USERS[:3])


def test_an_inventory_error_still_names_its_line(tmp_path: Path) -> None:
    # The first check runs without the line map; the error comes from the second, with it.
    path = tmp_path / "inv.yaml"
    path.write_text("hosts:\n  pc-1:\n    port: 5985\n  pc-2:\n    port: 70000\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"inv\.yaml:5: hosts\.pc-2\.port: must be a port number"):
        load_inventory(path)
