"""``fix_findings``: the playbook step that runs every declared remedy over the latest diagnosis's findings.

It has no script of its own: a playbook loads it as one step per :class:`~toolkit.actions.Remedy` some
action declares (in their ``order``), each looping over the findings it fixes. Adding a fix with a remedy
adds it to every playbook that uses this step, ``fix-takeover-blockers`` included.
"""

from __future__ import annotations

from toolkit.actions import PseudoAction

PSEUDO_ACTION = PseudoAction(
    name="fix_findings",
    summary="every declared fix, once per finding of the latest diagnose it fixes",
    runs=None,
    expands=True,
)
