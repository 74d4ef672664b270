"""The end-to-end checks, against a real Windows host named in the environment (skipped otherwise).

Set, for a test VM you can afford to touch (nothing here changes it: fixes run in check mode or are
refused before they change anything):

    JCFIX_TEST_HOST=winvm.example.test       # the host (name or address)
    JCFIX_TEST_USER=Administrator            # a local administrator
    JCFIX_TEST_PASSWORD=...                  # its password
    JCFIX_TEST_ARGS="--https --auth ntlm --ca-cert /path/ca.pem"   # optional connection flags

then run ``python -m pytest -m windows``. The same commands run against the lab in tests/e2e. These tests
need nothing but a host; the other modules here need the cases setup-host.ps1 builds (tests/windows/README.md).
"""

from __future__ import annotations

import json

from winkit import MARKS, jcfix, one_document

from toolkit.exitcodes import ExitCode

pytestmark = MARKS


def test_users_list_returns_the_hosts_accounts() -> None:
    result = jcfix("users", "list", "-o", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    document = one_document(result)
    assert document["status"] == "ok"
    users = document["data"]["users"]
    assert users, "a Windows host has at least its built-in accounts"
    assert all(u["sid"].startswith("S-1-5-") for u in users)
    assert any(u["sid"].endswith("-500") for u in users)  # the built-in Administrator, renamed or not
    assert all(isinstance(u["principal_source"], str) for u in users)  # text, never an enum number


def test_diagnose_returns_a_valid_diagnosis() -> None:
    result = jcfix("diagnose", "-o", "json", "-j", "jcfix-test-user-that-does-not-exist")
    assert result.returncode in (ExitCode.OK, ExitCode.BLOCKERS), result.stdout + result.stderr
    (host,) = json.loads(result.stdout)["hosts"]
    assert host["status"] == "ok"
    codes = {f["code"] for f in host["findings"]}
    # PROVISION_EXPECTED with a running agent; PROVISION_BLOCKED (naming why) without one.
    assert codes & {"PROVISION_EXPECTED", "PROVISION_BLOCKED"}


def test_a_fix_for_an_unknown_user_is_refused_and_changes_nothing() -> None:
    result = jcfix("fix", "rename", "-o", "json", "--user", "jcfix-no-such-user", "--to", "jcfixx")
    assert result.returncode == ExitCode.FAILED
    document = one_document(result)
    assert document["error"]["category"] == "invalid_input"


def test_check_mode_renames_nothing() -> None:
    listing = one_document(jcfix("users", "list", "-o", "json"))
    before = sorted(u["name"] for u in listing["data"]["users"])
    target = next(u["name"] for u in listing["data"]["users"] if u["sid"].endswith("-501"))  # Guest
    result = jcfix("fix", "rename", "-o", "json", "--user", target, "--to", "jcfixguest", "--check")
    assert one_document(result)["data"]["check_mode"] is True
    after = sorted(u["name"] for u in one_document(jcfix("users", "list", "-o", "json"))["data"]["users"])
    assert after == before


def test_wrong_password_is_auth_failed() -> None:
    result = jcfix("users", "list", "-o", "json", password="jcfix-wrong-password")
    assert result.returncode == ExitCode.FAILED
    assert one_document(result)["error"]["category"] == "auth_failed"
