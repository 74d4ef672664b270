"""``jcfix secrets``: stored where jcfix reads, prompted or one stdin line, never an argument, never shown."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, PasswordDeleteError

from toolkit.cli.app import main
from toolkit.jumpcloud.client import find_api_key
from toolkit.settings import ConnectionSettings, resolve_password

SECRET = "Tr0ub4dor&3-never-shown"


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in a dict, so tests never touch the developer's real one."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


class LockedKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("the collection is locked")


class TtyInput(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    for name in ("JCFIX_USER", "JCFIX_PASSWORD", "JCFIX_JC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JCFIX_CONFIG", "/dev/null")
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    return int(exited.value.code or 0), out, err


def test_stdin_line_is_stored_where_resolve_password_reads_it(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    code, out, err = run(["secrets", "set", "winrm-password", "--user", "admin", "--stdin"], capsys)
    assert (code, err) == (0, "")
    assert "Stored the WinRM password for admin in the keyring" in out
    assert memory_keyring.entries == {("jcfix", "admin"): SECRET}
    resolved = resolve_password(ConnectionSettings(user="admin"), environ={}, prompt=False)
    assert resolved.password is not None and resolved.password.reveal() == SECRET


def test_prompted_twice_and_stored_where_the_jumpcloud_client_reads_it(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return SECRET

    monkeypatch.setattr("sys.stdin", TtyInput())
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    code, out, _ = run(["secrets", "set", "jc-api-key"], capsys)
    assert code == 0 and out.startswith("Stored the JumpCloud API key in the keyring")
    assert prompts == ["The JumpCloud API key: ", "The JumpCloud API key (again): "]
    key = find_api_key(environ={})
    assert key is not None and key.reveal() == SECRET


def test_entries_that_differ_store_nothing(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([SECRET, SECRET + "x"])
    monkeypatch.setattr("sys.stdin", TtyInput())
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    code, _, err = run(["secrets", "set", "jc-api-key"], capsys)
    assert code == 2 and "differ" in err
    assert memory_keyring.entries == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["secrets", "set", "winrm-password", "--user", "admin"], "stdin is not a terminal"),
        (["secrets", "set", "winrm-password", "--user", "admin", SECRET], "give the value at the prompt"),
        (["secrets", "set", "winrm-password", "--stdin"], "needs the account: give --user"),
        (["secrets", "set", "jc-api-key", "--user", "admin", "--stdin"], "--user is for winrm-password"),
        (["secrets", "delete", "ssh-key"], "unknown secret 'ssh-key'"),
    ],
)
def test_refusals_are_one_line_exit_2_and_store_nothing(
    args: list[str],
    message: str,
    memory_keyring: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal, and --stdin would read nothing
    code, out, err = run(args, capsys)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("jcfix: error: ") and message in err
    assert memory_keyring.entries == {}


def test_empty_stdin_line_is_refused(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n" + SECRET))
    code, _, err = run(["secrets", "set", "jc-api-key", "--stdin"], capsys)
    assert code == 2 and "first line is empty" in err
    assert memory_keyring.entries == {}


def test_user_comes_from_jcfix_user_and_status_never_shows_the_value(
    memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JCFIX_USER", "labadmin")
    assert run(["secrets", "status", "winrm-password"], capsys)[1].startswith(
        "The WinRM password for labadmin: not stored in the keyring"
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    assert run(["secrets", "set", "winrm-password", "--stdin"], capsys)[0] == 0
    assert memory_keyring.entries == {("jcfix", "labadmin"): SECRET}
    code, out, _ = run(["secrets", "status", "winrm-password"], capsys)
    assert code == 0 and "labadmin: stored in the keyring" in out
    assert all(len(line) <= 80 for line in out.splitlines())
    monkeypatch.setenv("JCFIX_PASSWORD", SECRET)
    code, out, _ = run(["secrets", "status", "winrm-password", "--output", "json"], capsys)
    document = json.loads(out)
    assert (document["schema"], document["command"]) == (1, "secrets status")
    assert document["secret"] == {
        "name": "winrm-password",
        "keyring_user": "labadmin",
        "stored": True,
        "env_set": True,
        "read_from": "JCFIX_PASSWORD",
    }


def test_delete_removes_the_entry_once(memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]) -> None:
    memory_keyring.entries[("jcfix", "JCFIX_JC_API_KEY")] = SECRET
    code, out, _ = run(["secrets", "delete", "jc-api-key"], capsys)
    assert code == 0 and out == "Deleted the JumpCloud API key from the keyring.\n"
    assert memory_keyring.entries == {}
    code, out, _ = run(["secrets", "delete", "jc-api-key"], capsys)
    assert code == 0 and out.startswith("Nothing to delete")


def test_a_locked_keyring_is_one_line_without_the_value(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JCFIX_CONFIG", "/dev/null")
    previous = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring())
    try:
        monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
        code, _, err = run(["secrets", "set", "jc-api-key", "--stdin"], capsys)
    finally:
        keyring.set_keyring(previous)
    assert code == 2
    assert err.strip() == "jcfix: error: the OS keyring refused (KeyringLocked): the collection is locked"
