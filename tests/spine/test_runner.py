"""The runner over fake sessions: one report per host, failures stay on their host, sessions close."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from toolkit.actions import get_action
from toolkit.results import RawOutput
from toolkit.runner import Step, run_fleet, run_host
from toolkit.settings import ConnectionSettings
from toolkit.templates import RenderedScript
from toolkit.transport.base import HostTarget, TransportError

ACTION = get_action("list_users")
GOOD = json.dumps(
    {
        "schema": 1,
        "action": "list_users",
        "status": "ok",
        "changed": False,
        "data": {"computer_name": "PC", "source": "Get-LocalUser", "users": []},
        "findings": [],
        "error": None,
    }
)
SETTINGS = ConnectionSettings(deadline=5)


class FakeSession:
    """Answers from a script of behaviours keyed by host name; records what it was asked."""

    behaviours: ClassVar[dict[str, list[Any]]] = {}
    closed: ClassVar[list[str]] = []
    runs: ClassVar[list[tuple[str, bool]]] = []

    def __init__(self, target: HostTarget, settings: ConnectionSettings) -> None:
        self.target = target
        self.queue = list(self.behaviours.get(target.name, []))

    def run(self, rendered: RenderedScript, *, whatif: bool = False) -> RawOutput:
        FakeSession.runs.append((self.target.name, whatif))
        behaviour = self.queue.pop(0) if self.queue else RawOutput(output=[GOOD])
        if isinstance(behaviour, BaseException):
            raise behaviour
        return behaviour

    def close(self) -> None:
        FakeSession.closed.append(self.target.name)

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reset(behaviours: dict[str, list[Any]]) -> None:
    FakeSession.behaviours = behaviours
    FakeSession.closed = []
    FakeSession.runs = []


def test_a_broken_session_fails_later_steps_without_running_them() -> None:
    _reset({"pc-1": [TransportError("unreachable", "pc-1: connection dropped")]})
    rendered = ACTION.render({})
    steps = [Step(ACTION, rendered), Step(ACTION, rendered)]
    report = run_host(HostTarget("pc-1"), steps, SETTINGS, FakeSession)
    assert [r.status for _, r in report.results] == ["failed", "failed"]
    assert report.results[1][1].error is not None
    assert report.results[1][1].error.message.startswith("not run:")
    assert report.status == "unreachable"
    assert FakeSession.runs == [("pc-1", False)]  # the second step never reached the host
    assert FakeSession.closed == ["pc-1"]


def test_every_host_gets_exactly_one_report_and_failures_stay_local() -> None:
    _reset(
        {
            "pc-auth": [TransportError("auth_failed", "pc-auth: the host refused the credentials (HTTP 401)")],
            "pc-bad": [RawOutput(output=["not json"])],
            "pc-err": [RawOutput(output=[GOOD], error_records=["Access is denied"])],
            "pc-bug": [RuntimeError("a bug in a transport")],
        }
    )
    rendered = ACTION.render({})
    names = ["pc-ok-1", "pc-auth", "pc-bad", "pc-err", "pc-bug", "pc-ok-2"]
    plan = [(HostTarget(n), [Step(ACTION, rendered, whatif=True)]) for n in names]
    reports = {r.target.name: r for r in run_fleet(plan, SETTINGS, forks=3, session_factory=FakeSession)}
    assert sorted(reports) == sorted(names)
    assert reports["pc-ok-1"].status == reports["pc-ok-2"].status == "ok"
    assert reports["pc-auth"].results[0][1].error.category == "auth_failed"  # type: ignore[union-attr]
    assert reports["pc-bad"].results[0][1].error.category == "invalid_result"  # type: ignore[union-attr]
    # jcfix's words, then the host's own text (issue 15 item 7)
    assert reports["pc-err"].results[0][1].error.message == "the script wrote 1 error: Access is denied"  # type: ignore[union-attr]
    assert reports["pc-bug"].status == "failed"
    assert "internal error" in reports["pc-bug"].results[0][1].error.message  # type: ignore[union-attr]
    assert sorted(FakeSession.closed) == sorted(names)
    assert {whatif for _, whatif in FakeSession.runs} == {True}
