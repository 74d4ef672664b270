"""jcfix's real traffic with the stand-in, checked against JumpCloud's published spec (issue 12 item 7).

One module-wide capture run drives the real CLI (subprocesses) against the ``jumpcloud`` lab while
``Routes.dispatch`` is wrapped (:mod:`traffic`): diagnose with the API, ``--inventory jumpcloud:``,
``--via jumpcloud``, and every ``jc-*`` fix in check mode and applied. Then every request, and every 2xx
answer, is checked per operation against ``jumpcloud_spec_subset.json``; what the spec lacks is waived only
through :mod:`toolkit.jumpcloud.offspec`. Coverage: every stand-in route is in the spec or the off-spec
list, every call in jcfix's source is too, and every spec'd call jcfix makes was exercised.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from jc_support import JcLab, jc_lab
from spec_validator import Operation, Problem, Spec
from traffic import Call, Exchange, jcfix_calls, recording

from toolkit.jumpcloud.client import JumpCloudClient, JumpCloudConfig, JumpCloudError
from toolkit.jumpcloud.offspec import OFF_SPEC, off_spec_endpoints, off_spec_fields, off_spec_types
from toolkit.lab.jcdirectory import LabDirectory
from toolkit.lab.jcroutes import Routes
from toolkit.secrets import Secret

SPEC = Spec.load(extra_fields=off_spec_fields(), extra_types=off_spec_types())
SAMPLE_ID = "5f3e9c1b2a4d6e8f0a1b2c3d"  # a JumpCloud-like object id, for routes' path parameters
# Operations of the subset the stand-in does not serve yet (strict: the mark goes when the route comes).
NOT_SERVED_YET: dict[str, str] = {}


@dataclass
class Capture:
    lab: JcLab
    exchanges: list[Exchange]
    runs: dict[str, subprocess.CompletedProcess[str]]


def _system_key(lab: JcLab, hostname: str) -> str:
    return next(key for key, s in lab.api.directory.systems.items() if s["hostname"] == hostname)


def _drive(lab: JcLab, runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    """Every way jcfix talks to JumpCloud, once (the order keeps each fix's precondition)."""
    winrm, inventory = lab.winrm(), f"jumpcloud:{lab.inventory}"
    password = {"JCFIX_JC_INITIAL_PASSWORD": "Spec-Check-Pa55word-42!"}
    unbound = _system_key(lab, "lab-jc-unbound")
    steps: list[tuple[str, tuple[str, ...], dict[str, str]]] = [
        ("diagnose", ("diagnose", *winrm, "-o", "json"), {}),
        ("inventory", ("diagnose", "--inventory", inventory, "--http", "--auth", "basic", "-o", "json"), {}),
        ("via", ("users", "list", "--host", "lab-jc-ok", "--via", "jumpcloud", "-o", "json"), {}),
    ]
    fixes = {
        "local": ("jc-local-account", "--jc-user", "Jonathan", "--to", "jonathan"),
        "email": ("jc-activate", "--jc-user", "newhire"),
        "password": ("jc-activate", "--jc-user", "newhire", "--set-password"),
        "start": ("jc-activate", "--jc-user", "starter", "--activate-now"),
        "unlock": ("jc-unlock", "--jc-user", "lou"),
        "bind": ("jc-bind", "--jc-user", "ursula", "--system-id", unbound),
        "suspended": ("jc-activate", "--jc-user", "sam", "--reactivate-suspended"),
    }
    for name, args in fixes.items():
        env = password if name == "password" else {}
        common = ("fix", *args, "-o", "json")
        checked = (*common, "--run-id", f"spec-{name}-check", "--check")  # one run id per run
        steps += [(f"{name}-check", checked, env), (name, (*common, "--run-id", f"spec-{name}"), env)]
    steps += [
        ("undo-local", ("fix", "jc-undo", "--run-id", "spec-local", "-o", "json"), {}),
        ("undo-bind", ("undo", "--run-id", "spec-bind", "-o", "json"), {}),
    ]
    for name, args, env in steps:
        runs[name] = lab.jcfix(*args, **env)


def _stand_in_only(lab: JcLab) -> None:
    """The routes the stand-in serves that jcfix does not call, so their answers are checked too."""
    config = JumpCloudConfig(base_url=lab.api.url, api_key=Secret(lab.api.api_key), retries=0)
    with JumpCloudClient(config) as client:
        # A refusal is recorded like any answer; the per-operation tests say what is missing.
        with contextlib.suppress(JumpCloudError):
            client.get("/api/organizations")
        with contextlib.suppress(JumpCloudError):
            command = client.post("/api/commands", {"name": "spec", "command": "whoami", "commandType": "windows"})
            client.get(f"/api/commands/{command['_id']}")
            client.get(f"/api/commands/{command['_id']}/results")
            client.delete(f"/api/commands/{command['_id']}")


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Capture]:
    runs: dict[str, subprocess.CompletedProcess[str]] = {}
    with jc_lab("jumpcloud", tmp_path_factory.mktemp("spec")) as lab, recording() as exchanges:
        _drive(lab, runs)
        _stand_in_only(lab)
        yield Capture(lab, exchanges, runs)


def _off_spec_endpoint(method: str, path: str) -> bool:
    return any(m == method and Spec.matches(t, _concrete(path)) for m, t in off_spec_endpoints())


def _problems(exchanges: list[Exchange]) -> list[str]:
    found: list[Problem] = []
    for x in exchanges:
        found += SPEC.check_request(x.method, x.path, x.query, x.body)
        if 200 <= x.status < 300:
            found += SPEC.check_response(x.method, x.path, x.status, x.answer, x.headers)
    return sorted({str(p) for p in found})


def _samples(op: Operation, capture: Capture) -> list[Exchange]:
    return [x for x in capture.exchanges if SPEC.find(x.method, x.path)[0] == op]


def _jcfix_calls(op: Operation) -> list[Call]:
    return [c for c in jcfix_calls() if c.method == op.method and Spec.matches(op.template, _concrete(c.template))]


def _concrete(template: str) -> str:
    """A path that fits ``template`` (``{id}`` or ``{}`` segments become a sample id)."""
    return "/".join(SAMPLE_ID if part.startswith("{") else part for part in template.split("/"))


def _mark(op: Operation) -> pytest.MarkDecorator | tuple[()]:
    reason = NOT_SERVED_YET.get(op.label)
    return pytest.mark.xfail(strict=True, reason=reason) if reason else ()


OPERATIONS = [pytest.param(op, id=op.label, marks=_mark(op)) for op in SPEC.operations]


@pytest.mark.slow
def test_the_capture_run_reached_the_api(capture: Capture) -> None:
    # Every run must work (0 ok, 5 changed, 6 blockers found), or the capture would prove nothing about it.
    for name, run in capture.runs.items():
        assert run.returncode in (0, 5, 6), (name, run.stderr[-600:])
    assert len(capture.exchanges) > 20 and not [x for x in capture.exchanges if x.status == 401]


@pytest.mark.slow
def test_every_request_is_a_spec_operation_or_listed_off_spec(capture: Capture) -> None:
    unknown = {
        f"{x.method} {x.path}: {problem}"
        for x in capture.exchanges
        if not _off_spec_endpoint(x.method, x.path)
        for problem in SPEC.find(x.method, x.path)[1]
    }
    assert not unknown, sorted(unknown)


@pytest.mark.slow
@pytest.mark.parametrize("op", OPERATIONS)
def test_traffic_matches_the_spec(op: Operation, capture: Capture) -> None:
    samples = _samples(op, capture)
    calls = _jcfix_calls(op)
    where = ", ".join(c.where for c in calls) or "the stand-in only"
    assert samples, f"{op.label} ({where}) was never exercised by the capture run"
    assert [x for x in samples if 200 <= x.status < 300], [str(x) for x in samples]
    assert _problems(samples) == []


def _route_table() -> list[tuple[str, re.Pattern[str]]]:
    """The stand-in's routes (``Routes.table``), over an empty organisation."""
    return [(method, pattern) for method, pattern, _ in Routes(LabDirectory.build([], None)).table]


@pytest.mark.parametrize("op", OPERATIONS)
def test_the_stand_in_serves_each_spec_operation(op: Operation) -> None:
    concrete = _concrete(op.template)
    table = _route_table()
    assert any(m == op.method and pattern.match(concrete) for m, pattern in table), f"no route for {op.label}"


def test_every_stand_in_route_is_in_the_spec_or_listed_off_spec() -> None:
    samples = [(op.method, _concrete(op.template)) for op in SPEC.operations]
    samples += [(method, _concrete(template)) for method, template in off_spec_endpoints()]
    stray = [
        f"{method} {pattern.pattern}"
        for method, pattern in _route_table()
        if not any(m == method and pattern.match(path) for m, path in samples)
    ]
    assert not stray, f"stand-in routes neither in the spec subset nor in toolkit/jumpcloud/offspec.py: {stray}"


@pytest.mark.slow
@pytest.mark.parametrize("endpoint", sorted(off_spec_endpoints()), ids=" ".join)
def test_each_off_spec_endpoint_jcfix_calls_was_exercised(endpoint: tuple[str, str], capture: Capture) -> None:
    method, template = endpoint
    assert [c for c in jcfix_calls() if c.method == method and Spec.matches(template, _concrete(c.template))]
    answered = [x.status for x in capture.exchanges if x.method == method and Spec.matches(template, x.path)]
    assert any(200 <= status < 300 for status in answered), answered


def test_every_call_in_jcfix_source_is_in_the_spec_or_listed_off_spec() -> None:
    calls = jcfix_calls()
    assert calls
    stray = [
        str(c)
        for c in calls
        if SPEC.find(c.method, _concrete(c.template))[0] is None and not _off_spec_endpoint(c.method, c.template)
    ]
    assert not stray, stray
    wrong_id = [
        f"{c}: says {c.operation_id}, the spec says {op.spec['operationId']}"
        for c in calls
        if c.operation_id
        and (op := SPEC.find(c.method, _concrete(c.template))[0]) is not None
        and c.operation_id != op.spec["operationId"]
    ]
    assert not wrong_id, wrong_id


def test_off_spec_entries_are_really_off_spec_and_sourced() -> None:
    for entry in OFF_SPEC:
        assert entry.source.startswith("TheJumpCloud/") and entry.used_by, entry
        op, _ = SPEC.find(entry.method, _concrete(entry.path))
        if entry.kind == "endpoint":
            assert op is None, f"{entry.method} {entry.path} is in the spec: remove it from offspec.py"
            continue
        assert op is not None, entry
        definitions = SPEC.document["apis"][op.api]["definitions"]
        if entry.kind == "field":
            declared = definitions[entry.schema]["properties"]
            assert entry.name not in declared, f"{entry.schema}.{entry.name} is in the spec: remove it from offspec.py"
        else:  # a type: the operation's inline body schema has the property, with another type
            (body,) = [p for p in op.spec["parameters"] if p["in"] == "body"]
            assert op.spec["operationId"] == entry.schema
            declared_type = body["schema"]["properties"][entry.name]["type"]
            assert declared_type != entry.json_type, f"{entry.schema}.{entry.name} is {declared_type} in the spec"


def test_the_subset_source_is_recorded() -> None:
    source = SPEC.document["source"]
    assert source["repository"] == "TheJumpCloud/jcapi-powershell" and len(source["commit"]) == 40
    notes = (Path(__file__).parent / "SOURCE.md").read_text("utf-8")
    assert source["commit"] in notes and "MIT" in notes
