"""The environment for a jcfix subprocess a test starts: the test runner's own, without its ``JCFIX_*`` settings.

A developer's ``JCFIX_USER``, ``JCFIX_CONFIG`` or ``JCFIX_VIA`` would otherwise change what the jcfix under
test does; each test adds back exactly the ``JCFIX_*`` variables it means.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping

JCFIX_PREFIX = "JCFIX_"


def environ_without_jcfix(
    keep: Collection[str] = ("JCFIX_HISTORY",), keep_prefix: str | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``environ`` (default ``os.environ``) as a new dict, without its ``JCFIX_*`` variables.

    ``keep``: ``JCFIX_*`` names kept (default ``JCFIX_HISTORY``: tests/conftest.py gives each test its own run
    history). ``keep_prefix``: ``JCFIX_*`` names starting with it are kept too (e.g. ``JCFIX_TEST_``).
    """
    source = os.environ if environ is None else environ

    def kept(name: str) -> bool:
        return name in keep or (keep_prefix is not None and name.startswith(keep_prefix))

    return {name: value for name, value in source.items() if not name.startswith(JCFIX_PREFIX) or kept(name)}
