"""JumpCloud-side fix runs in the run history, in the shape device runs have, so ``jcfix runs list/show`` and
``jcfix undo --run-id`` need nothing special.

A run has one "host", :data:`JC_HOST`, reached at the API's URL with auth :data:`JC_AUTH` (never the key),
and one step per fix outcome (its document: the outcome as printed). ``touched`` is set when the run may
have changed JumpCloud; ``jcfix undo`` then hands the run to :func:`toolkit.jumpcloud.fix_undo.undo`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from toolkit.history import History, HistoryRecorder, history_path
from toolkit.jumpcloud.fix_common import FixOutcome
from toolkit.models import worst_status
from toolkit.report.recorders import run_meta, run_summary

JC_HOST = "jumpcloud"  # the host label of a JumpCloud-side run (a Windows host cannot be called this with ...)
JC_AUTH = "x-api-key"  # ... this auth: WinRM auths are basic, ntlm, kerberos, negotiate, credssp, certificate


def _changed(outcome: FixOutcome) -> bool:
    """Whether the outcome may have changed JumpCloud: applied, or a change read back wrong (verify_failed)."""
    if outcome.check_mode:
        return False
    if outcome.status == "failed":
        return bool(outcome.error and outcome.error.get("category") == "verify_failed")
    return outcome.status in ("changed", "pending")


class FixRunRecord:
    """Records one JumpCloud-side fix run; made before anything is sent, so a history file jcfix cannot write
    (from a newer jcfix) stops the run first.

    Args:
        run_id: the run's id.
        check: whether the run only reads (``--check``).
        base_url: the API's URL (stored as where the "host" was reached).
        parameters: the fix's options (stored redacted).
        history: the history file (None: ``$JCFIX_HISTORY`` or the user's data directory).
    """

    def __init__(
        self,
        run_id: str,
        *,
        check: bool,
        base_url: str,
        parameters: Mapping[str, Any],
        history: Path | None = None,
    ) -> None:
        self.run_id = run_id
        self.check = check
        self.base_url = base_url
        self.recorder = HistoryRecorder(history_path(history), parameters=parameters)

    def record(self, outcomes: Sequence[FixOutcome], exit_code: int) -> None:
        """Store the run, its one host and a step per outcome."""
        status = worst_status(o.status for o in outcomes)
        parts = urlsplit(self.base_url)
        scheme = parts.scheme or "https"
        self.recorder.start(run_meta(self.run_id, hosts=1, check_mode=self.check))
        host = {
            "host": JC_HOST,
            "status": status,
            "reason": None,
            "touched": int(any(_changed(o) for o in outcomes)),
            "changed": int(any(_changed(o) for o in outcomes)),
            "address": parts.hostname or self.base_url,
            "port": parts.port or (443 if scheme == "https" else 80),
            "scheme": scheme,
            "auth": JC_AUTH,
            "ca_cert": None,
        }
        steps = [
            {
                "name": f"{o.fix} {o.jc_user}".strip(),
                "action": o.fix.replace("-", "_"),
                "whatif": int(o.check_mode),
                "status": o.status,
                "changed": int(_changed(o)),
                "error_category": (o.error or {}).get("category"),
                "error_message": (o.error or {}).get("message"),
                "parameters": {"jc_user": o.jc_user},
                "document": o.to_dict(),
            }
            for o in outcomes
        ]
        self.recorder.rows_done(host, steps)
        self.recorder.finish(run_summary({status: 1}, exit_code=exit_code))


def is_jumpcloud_run(run_id: str, history: Path | None = None) -> bool:
    """Whether run ``run_id`` is in the history as a JumpCloud-side fix run (its host is :data:`JC_HOST`)."""
    with History(history_path(history)) as db:
        for run in db.attempts(run_id):
            if any(h.host == JC_HOST and h.auth == JC_AUTH for h in db.hosts(run.seq)):
                return True
    return False
