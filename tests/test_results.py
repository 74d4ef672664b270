"""The result contract: whatever a host sends back, a malformed run becomes ``failed``, never a silent success.

Also: :class:`toolkit.secrets.Secret` never shows its value.
"""

from __future__ import annotations

import copy
import json
import logging
import pickle
import traceback
from collections.abc import Callable
from typing import Any

import pytest

from toolkit.actions import Param, get_action, registry
from toolkit.actions.list_users import ListUsersData, LocalUser
from toolkit.errors import UsageError
from toolkit.results import STATUSES, WIRE_KEYS, RawOutput, ResultDocument, status_label, summarise
from toolkit.secrets import REDACTED, Secret, redact
from toolkit.templates import RenderedScript

ACTION = get_action("list_users")

USER: dict[str, Any] = {
    "name": "alice",
    "full_name": "Alice Example",
    "sid": "S-1-5-21-1111111111-2222222222-3333333333-1001",
    "enabled": True,
    "principal_source": "Local",
    "last_logon": "2024-05-01T08:30:00Z",
    "profile_path": "C:\\Users\\alice",
    "profile_loaded": True,
    "description": "",
}


def document(**changes: Any) -> dict[str, Any]:
    """A valid list_users document (as the script prints it), with ``changes`` applied."""
    doc: dict[str, Any] = {
        "schema": 1,
        "action": "list_users",
        "status": "ok",
        "changed": False,
        "data": {"computer_name": "PC-01", "source": "Get-LocalUser", "users": [dict(USER)]},
        "findings": [],
        "error": None,
    }
    doc.update(changes)
    return doc


def without(key: str) -> dict[str, Any]:
    doc = document()
    del doc[key]
    return doc


def with_user(**changes: Any) -> dict[str, Any]:
    doc = document()
    doc["data"]["users"][0].update(changes)
    return doc


def run(output: list[Any], errors: list[str] | None = None, terminating: str | None = None) -> ResultDocument[Any]:
    return ACTION.parse(RawOutput(output=output, error_records=errors or [], terminating_error=terminating))


def text(doc: Any) -> str:
    return json.dumps(doc)


HOST_ERROR = "Get-LocalUser : Access is denied. (Exception from HRESULT: 0x80070005)"

# (id, raw output, expected category, words the message must contain)
MALFORMED: list[tuple[str, Callable[[], RawOutput], str, list[str]]] = [
    ("no-document", lambda: RawOutput(output=[]), "invalid_result", ["no result document"]),
    ("two-documents", lambda: RawOutput(output=[text(document()), text(document())]), "invalid_result", ["2 output"]),
    ("stray-output", lambda: RawOutput(output=["hello", text(document())]), "invalid_result", ["2 output"]),
    ("null-beside", lambda: RawOutput(output=[None, text(document())]), "invalid_result", ["2 output"]),
    (
        "invalid-json",
        lambda: RawOutput(output=["WARNING: this is not JSON {"]),
        "invalid_result",
        ["invalid JSON", "WARNING: this is not JSON {"],
    ),
    ("truncated-json", lambda: RawOutput(output=[text(document())[:-7]]), "invalid_result", ["invalid JSON"]),
    ("empty-string", lambda: RawOutput(output=[""]), "invalid_result", ["invalid JSON"]),
    ("long-garbage", lambda: RawOutput(output=["x" * 5000]), "invalid_result", ["invalid JSON", "5000 characters"]),
    ("dict-output", lambda: RawOutput(output=[document()]), "invalid_result", ["dict", "expected JSON text"]),
    ("int-output", lambda: RawOutput(output=[1]), "invalid_result", ["int"]),
    ("none-output", lambda: RawOutput(output=[None]), "invalid_result", ["NoneType"]),
    ("json-array", lambda: RawOutput(output=["[]"]), "invalid_result", ["wrong shape"]),
    ("json-null", lambda: RawOutput(output=["null"]), "invalid_result", ["wrong shape"]),
    ("json-string", lambda: RawOutput(output=['"ok"']), "invalid_result", ["wrong shape"]),
    ("json-array-of-docs", lambda: RawOutput(output=[text([document()])]), "invalid_result", ["wrong shape"]),
    *[
        (f"missing-{key}", (lambda key=key: RawOutput(output=[text(without(key))])), "invalid_result", [key])
        for key in WIRE_KEYS
    ],
    ("extra-key", lambda: RawOutput(output=[text(document(result={}))]), "invalid_result", ["result"]),
    (
        "extra-data-key",
        lambda: RawOutput(output=[text(document(data={**document()["data"], "hostname": "x"}))]),
        "invalid_result",
        ["hostname"],
    ),
    ("extra-user-key", lambda: RawOutput(output=[text(with_user(password="x"))]), "invalid_result", ["password"]),
    ("bad-status", lambda: RawOutput(output=[text(document(status="fine"))]), "invalid_result", ["status"]),
    ("status-case", lambda: RawOutput(output=[text(document(status="OK"))]), "invalid_result", ["status"]),
    ("schema-2", lambda: RawOutput(output=[text(document(schema=2))]), "invalid_result", ["schema"]),
    ("schema-0", lambda: RawOutput(output=[text(document(schema=0))]), "invalid_result", ["schema"]),
    ("schema-string", lambda: RawOutput(output=[text(document(schema="1"))]), "invalid_result", ["schema"]),
    ("wrong-action", lambda: RawOutput(output=[text(document(action="collect_facts"))]), "invalid_result", ["action"]),
    ("changed-string", lambda: RawOutput(output=[text(document(changed="false"))]), "invalid_result", ["changed"]),
    ("changed-number", lambda: RawOutput(output=[text(document(changed=0))]), "invalid_result", ["changed"]),
    # Windows PowerShell 5.1 habits the scripts must avoid, caught rather than coerced:
    ("enum-as-number", lambda: RawOutput(output=[text(with_user(principal_source=1))]), "invalid_result", ["princ"]),
    ("bool-as-number", lambda: RawOutput(output=[text(with_user(enabled=1))]), "invalid_result", ["enabled"]),
    ("bool-as-string", lambda: RawOutput(output=[text(with_user(enabled="True"))]), "invalid_result", ["enabled"]),
    (
        "unwrapped-array",
        lambda: RawOutput(output=[text(document(data={**document()["data"], "users": dict(USER)}))]),
        "invalid_result",
        ["users"],
    ),
    (
        "bad-source",
        lambda: RawOutput(output=[text(document(data={**document()["data"], "source": "WMI"}))]),
        "invalid_result",
        ["source"],
    ),
    (
        "bad-finding",
        lambda: RawOutput(output=[text(document(findings=[{"code": "X", "severity": "fatal", "message": "m"}]))]),
        "invalid_result",
        ["severity"],
    ),
    ("findings-object", lambda: RawOutput(output=[text(document(findings={}))]), "invalid_result", ["findings"]),
    (
        "bad-error-category",
        lambda: RawOutput(output=[text(document(status="failed", data=None, error={"category": "x", "message": "m"}))]),
        "invalid_result",
        ["category"],
    ),
    (
        "failed-without-error",
        lambda: RawOutput(output=[text(document(status="failed"))]),
        "invalid_result",
        ["no error"],
    ),
    ("ok-without-data", lambda: RawOutput(output=[text(document(data=None))]), "invalid_result", ["no data"]),
    (
        "skipped-without-data",
        lambda: RawOutput(output=[text(document(status="skipped", data=None))]),
        "invalid_result",
        ["no data"],
    ),
    (
        "ok-with-error",
        lambda: RawOutput(output=[text(document(error={"category": "script_failed", "message": HOST_ERROR}))]),
        "invalid_result",
        ["carries an error", HOST_ERROR],
    ),
    (
        "terminating-error",
        lambda: RawOutput(output=[], terminating_error=HOST_ERROR),
        "script_failed",
        [HOST_ERROR],
    ),
    (
        "error-record-and-no-document",
        lambda: RawOutput(output=[], error_records=[HOST_ERROR]),
        "script_failed",
        [HOST_ERROR],
    ),
    (
        "script-reported-failure",
        lambda: RawOutput(
            output=[
                text(document(status="failed", data=None, error={"category": "script_failed", "message": HOST_ERROR}))
            ]
        ),
        "script_failed",
        [HOST_ERROR],
    ),
    (
        "script-failed-midway-with-partial-data",
        lambda: RawOutput(
            output=[
                text(
                    document(
                        status="failed",
                        data={"computer_name": "PC-01"},
                        error={"category": "script_failed", "message": HOST_ERROR, "fqid": "x", "position": "y"},
                    )
                )
            ]
        ),
        "script_failed",
        [HOST_ERROR],
    ),
]


@pytest.mark.parametrize(("make", "category", "words"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_output_fails(make: Callable[[], RawOutput], category: str, words: list[str]) -> None:
    result = ACTION.parse(make())
    assert result.status == "failed"
    assert result.changed is False
    assert result.data is None
    assert result.error is not None
    assert result.error.category == category
    for word in words:
        assert word in result.error.message, result.error.message
    assert result.action == "list_users"


# Errors the host raised beside a valid document: failed, but what the document said is kept (defect 5).
BESIDE_DOCUMENT = [
    ("terminating-error-after-document", {"terminating": HOST_ERROR}, [HOST_ERROR]),
    ("error-record-beside-valid-document", {"errors": [HOST_ERROR]}, [HOST_ERROR]),
    ("two-error-records", {"errors": ["first problem", "second problem"]}, ["first problem", "second problem"]),
]


@pytest.mark.parametrize(("how", "words"), [c[1:] for c in BESIDE_DOCUMENT], ids=[c[0] for c in BESIDE_DOCUMENT])
def test_host_errors_beside_a_document_fail_but_keep_it(how: dict[str, Any], words: list[str]) -> None:
    result = run([text(document())], **how)
    assert result.status == "failed"
    assert result.error is not None and result.error.category == "script_failed"
    for word in words:
        assert word in result.error.message
    assert isinstance(result.data, ListUsersData) and result.data.users[0].name == "alice"


def test_valid_document_is_typed() -> None:
    result = run([text(document())])
    assert result.status == "ok"
    assert result.error is None
    assert isinstance(result.data, ListUsersData)
    assert isinstance(result.data.users[0], LocalUser)
    assert result.data.users[0].model_dump() == USER
    assert result.to_json_dict() == document()


@pytest.mark.parametrize("status", [s for s in STATUSES if s != "failed"])
def test_every_non_failed_status_with_data_passes(status: str) -> None:
    findings = [{"code": "JC001", "severity": "warning", "message": "m", "evidence": {"user": "alice"}}]
    result = run([text(document(status=status, changed=status == "changed", findings=findings))])
    assert result.status == status
    assert isinstance(result.data, ListUsersData)
    assert result.findings[0].evidence == {"user": "alice"}


def test_empty_listing_passes() -> None:
    result = run([text(document(data={"computer_name": "PC-01", "source": "Win32_UserAccount", "users": []}))])
    assert result.status == "ok"
    assert isinstance(result.data, ListUsersData)
    assert result.data.users == []


def test_script_failure_keeps_extra_error_fields() -> None:
    doc = document(status="failed", data=None, error={"category": "script_failed", "message": "m", "fqid": "F"})
    result = run([text(doc)])
    assert result.error is not None
    assert result.error.model_dump()["fqid"] == "F"


@pytest.mark.parametrize("action", list(registry().values()), ids=list(registry()))
def test_every_action_refuses_a_silent_success(action: Any) -> None:
    # The same guarantees hold for every declared action, whatever its data model.
    for raw in (
        RawOutput(output=[]),
        RawOutput(output=["{"]),
        RawOutput(output=[text({**document(), "action": action.name})], error_records=["boom"]),
        RawOutput(output=[text({**document(data=None), "action": action.name})]),
    ):
        assert action.parse(raw).status == "failed"


def test_summarise_counts_failures() -> None:
    results = [run([]), run([text(document())]), run([], terminating="x")]
    assert summarise(results) == {"ok": 1, "changed": 0, "pending": 0, "skipped": 0, "failed": 2}


# ---- secrets ----------------------------------------------------------------------------------------

PASSWORD = "hunter2-\u2019-S3cret"


@pytest.fixture
def secret() -> Secret:
    return Secret(PASSWORD)


@pytest.mark.parametrize(
    "show",
    [
        repr,
        str,
        ascii,
        format,
        lambda s: f"{s}",
        lambda s: f"{s!r}",
        lambda s: f"{s!s}",
        lambda s: f"{s!a}",
        lambda s: f"{s:>40}",
        lambda s: f"{s:s}",
        lambda s: "%s" % s,  # noqa: UP031
        lambda s: "%r" % s,  # noqa: UP031
        lambda s: "{}".format(s),  # noqa: UP032
        lambda s: repr([s, {"password": s}, (s,)]),
        lambda s: str({"password": s}),
        lambda s: str(ValueError(s)),
        lambda s: repr(ValueError(s)),
        lambda s: str(ValueError(f"bad password {s}")),
        lambda s: str(UsageError(f"login failed with {s!r}")),
        lambda s: repr(redact({"a": [s, (s,)]})),
    ],
)
def test_secret_never_shows_its_value(secret: Secret, show: Callable[[Secret], str]) -> None:
    shown = show(secret)
    assert PASSWORD not in shown
    assert "hunter2" not in shown
    assert REDACTED in shown


def test_secret_not_in_traceback(secret: Secret) -> None:
    def login(password: Secret) -> None:
        raise RuntimeError(f"cannot log in as bob with {password}")

    with pytest.raises(RuntimeError) as info:
        login(secret)
    formatted = "".join(traceback.format_exception(info.value))
    assert "hunter2" not in formatted
    assert REDACTED in formatted


def test_secret_not_in_logs(secret: Secret, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("jcfix.test")
    with caplog.at_level(logging.DEBUG, logger="jcfix.test"):
        logger.info("password is %s", secret)
        logger.info("password is %r", secret)
        logger.info({"password": secret})
    assert "hunter2" not in caplog.text
    assert caplog.text.count(REDACTED) == 3


def test_secret_cannot_be_serialised(secret: Secret) -> None:
    with pytest.raises(TypeError) as info:
        json.dumps({"password": secret})
    assert "hunter2" not in str(info.value)
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    with pytest.raises(TypeError):
        copy.copy(secret)
    with pytest.raises(TypeError):
        vars(secret)


def test_secret_in_preview_is_redacted(secret: Secret) -> None:
    rendered = RenderedScript("sample", 1, "param([securestring] $Password, [string] $User)\n", {"Password": secret})
    preview = rendered.preview()
    assert "hunter2" not in preview
    assert f"Password = '{REDACTED}'" in preview
    in_list = RenderedScript("sample", 1, "param()\n", {"Passwords": [secret, "plain"]}).preview()
    assert "hunter2" not in in_list
    assert f"@('{REDACTED}', 'plain')" in in_list


def test_secret_reveals_only_on_request(secret: Secret) -> None:
    assert secret.reveal() == PASSWORD
    assert Secret(secret).reveal() == PASSWORD
    assert secret == Secret(PASSWORD)
    assert secret != PASSWORD
    assert bool(Secret("")) is False
    with pytest.raises(TypeError):
        Secret(1234)  # type: ignore[arg-type]


def test_secret_parameter_errors_do_not_show_values(secret: Secret) -> None:
    password = Param("Password", kind="secret", required=True)
    with pytest.raises(ValueError) as info:
        password.convert("hunter2-plain")
    assert "hunter2" not in str(info.value)
    for kind in ("string", "int", "bool", "string[]"):
        with pytest.raises(ValueError) as info:
            Param("X", kind=kind).convert(secret)
        assert "hunter2" not in str(info.value)


# ---- a change, then a failure (issue 10, defect 5) ---------------------------------------------------

FIX = get_action("rename_user")
FIX_DATA: dict[str, Any] = {
    "user": "jonathan",
    "sid": USER["sid"],
    "check_mode": False,
    "planned": ["rename 'jonathan' to 'Jonathan'"],
    "before": {"name": "jonathan"},
    "after": {"name": "jonathan"},
    "backups": ["C:\\ProgramData\\jcfix\\backups\\r1\\001-rename.json"],
    "notes": ["read-back still shows 'jonathan'"],
}


def fix_document(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": 1,
        "action": "rename_user",
        "status": "failed",
        "changed": True,
        "data": dict(FIX_DATA),
        "findings": [],
        "error": {"category": "verify_failed", "message": "the name read back is 'jonathan'"},
    }
    doc.update(changes)
    return doc


def test_a_failed_document_keeps_changed_and_its_data() -> None:
    result = FIX.parse(RawOutput(output=[text(fix_document())]))
    assert result.status == "failed" and result.changed is True
    assert result.changed_then_failed and result.label == "failed (changed)"
    assert result.data is not None and result.data.backups == FIX_DATA["backups"]
    assert result.data.before == {"name": "jonathan"} and result.data.notes == FIX_DATA["notes"]
    assert result.backups() == FIX_DATA["backups"]
    assert result.to_json_dict()["data"]["after"] == {"name": "jonathan"}


def test_a_failed_document_with_partial_data_keeps_it_as_sent() -> None:
    partial = {"user": "jonathan", "before": {"name": "jonathan"}, "backups": ["C:\\b\\001-rename.json"]}
    result = FIX.parse(RawOutput(output=[text(fix_document(data=partial))]))
    assert result.status == "failed" and result.changed is True
    assert result.error is not None and result.error.category == "verify_failed"  # not a shape complaint
    assert result.data is None and result.partial_data == partial
    assert result.backups() == ["C:\\b\\001-rename.json"]
    dumped = result.to_json_dict()
    assert dumped["data"] == partial and dumped["data_partial"] is True
    assert result.data_dict() == partial


def test_partial_data_is_never_accepted_for_a_success() -> None:
    partial = {"user": "jonathan"}
    result = FIX.parse(RawOutput(output=[text(fix_document(status="changed", error=None, data=partial))]))
    assert result.status == "failed" and result.error is not None and result.error.category == "invalid_result"
    assert result.partial_data is None


def test_a_verification_message_that_raised_stays_verify_failed() -> None:
    raw = RawOutput(output=[text(fix_document())], error_records=["PropertyNotFoundStrict: 'Name' was not found"])
    result = FIX.parse(raw)
    assert result.error is not None and result.error.category == "verify_failed"
    assert "the name read back is 'jonathan'" in result.error.message
    assert "PropertyNotFoundStrict" in result.error.message
    assert result.changed is True and result.data is not None


def test_partial_data_survives_error_records_beside_it() -> None:
    partial = {"user": "jonathan", "backups": ["C:\\b\\001-rename.json"]}
    result = FIX.parse(RawOutput(output=[text(fix_document(data=partial))], error_records=["boom"]))
    assert result.partial_data == partial and result.changed is True
    assert result.error is not None and result.error.category == "verify_failed" and "boom" in result.error.message


def test_a_change_then_an_error_record_is_failed_changed() -> None:
    done = fix_document(status="changed", error=None)
    result = FIX.parse(RawOutput(output=[text(done)], error_records=["Access denied"]))
    assert (result.status, result.changed, result.label) == ("failed", True, "failed (changed)")
    assert result.error is not None and result.error.category == "script_failed"


def test_status_label() -> None:
    assert status_label("failed", True) == "failed (changed)"
    assert status_label("failed", False) == "failed"
    assert status_label("changed", True) == "changed"
