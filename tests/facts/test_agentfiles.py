"""The agent files parsed in Python from real-shaped samples (``data/README.md`` says where each comes from)."""

from __future__ import annotations

import base64
import codecs

import pytest
from factsupport import CONTRIB, raw_file, sample

from toolkit.agentfiles import decode_text, parse_log_tail, parse_managed_users, parse_system_key
from toolkit.facts import RawFile


def managed(name: str) -> tuple[tuple[str, ...], bool, tuple[str, ...]]:
    result = parse_managed_users(raw_file(sample(name)))
    return result.usernames, result.read, result.notes


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("managed_users_one_array.json", ("jonathan",)),
        ("managed_users_one_ps51_object.json", ("jonathan",)),
        ("managed_users_several.json", ("alice", "bob", "jonathan")),
        ("managed_users_several_ps51.json", ("alice", "bob")),
        ("managed_users_object_holding_array.json", ("alice", "bob")),
        ("managed_users_empty_file.json", ()),
        ("managed_users_empty_array.json", ()),
        ("managed_users_utf8_bom.json", ("José", "alice")),
        ("managed_users_utf16le_bom.json", ("José", "bob")),
        ("managed_users_utf8_names.json", ("José", "Zoë", "Müller")),
    ],
)
def test_managed_users_shapes(name: str, expected: tuple[str, ...]) -> None:
    usernames, read, notes = managed(name)
    assert usernames == expected
    assert read is True
    assert notes == ()


def test_several_users_are_several_names_not_one_joined_name() -> None:
    # Windows PowerShell 5.1's ConvertFrom-Json | ForEach-Object saw the array as one object: "alice bob".
    usernames, _, _ = managed("managed_users_several.json")
    assert "alice bob jonathan" not in usernames
    assert len(usernames) == 3


def test_ansi_file_is_read_with_a_note() -> None:
    usernames, read, notes = managed("managed_users_ansi_names.json")
    assert usernames == ("José",) and read
    assert len(notes) == 1 and "not UTF-8" in notes[0] and "Windows-1252" in notes[0]


def test_invalid_json_is_a_note_and_not_read() -> None:
    usernames, read, notes = managed("managed_users_invalid.json")
    assert usernames == () and read is False
    assert len(notes) == 1 and notes[0].startswith("managedUsers.json is not valid JSON (")


def test_truncated_file_is_a_note_about_the_bound() -> None:
    content = sample("managed_users_several.json")
    result = parse_managed_users(raw_file(content[:30], size=1024 * 1024 + 7, truncated=True))
    assert result.usernames == () and result.read is False
    assert result.notes == ("managedUsers.json is larger than the 1 MiB read and was cut, so its users are unknown",)


def test_unknown_fields_and_entries_without_a_username() -> None:
    usernames, read, notes = managed("managed_users_extra_fields.json")
    assert usernames == ("alice", "bob") and read
    assert notes == ("managedUsers.json: 1 entry without a username ignored",)


@pytest.mark.parametrize(
    ("content", "note"),
    [
        (b'"alice"', "a string"),
        (b'{"a": [], "b": []}', "an object"),
        (b"42", "a number"),
        (b"null", "true, false or null"),
    ],
)
def test_unknown_shapes_are_notes(content: bytes, note: str) -> None:
    result = parse_managed_users(raw_file(content))
    assert result.usernames == () and result.read is False
    assert result.notes == (f"managedUsers.json has an unknown shape ({note}, not a list of users)",)


def test_duplicates_are_listed_once_and_case_is_kept() -> None:
    result = parse_managed_users(raw_file(b'[{"username":"Bob"},{"username":"bob"},{"username":"Bob"}]'))
    assert result.usernames == ("Bob", "bob")


def test_absent_unreadable_and_not_base64() -> None:
    absent = parse_managed_users(raw_file(None))
    assert absent.usernames == () and absent.read is False and absent.notes == ()
    locked = RawFile(path=CONTRIB + "managedUsers.json", present=True, size=10, error="sharing violation")
    assert parse_managed_users(locked).notes == ("managedUsers.json could not be read: sharing violation",)
    garbled = RawFile(path=CONTRIB + "managedUsers.json", present=True, size=3, base64="not base64!")
    assert parse_managed_users(garbled).notes == ("managedUsers.json: the host sent content that is not base64",)
    missing = RawFile(path=CONTRIB + "managedUsers.json", present=True, size=3)
    assert parse_managed_users(missing).notes == ("managedUsers.json is present but its content did not come back",)


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
    ],
)
def test_decode_text_follows_the_bom(bom: bytes, encoding: str) -> None:
    text = '[{"username":"Łukasz"}]'
    assert decode_text(bom + text.encode(encoding), "f").text == text


def test_a_character_cut_by_the_bound_is_dropped_silently() -> None:
    data = "José".encode()[:-1]  # the bound cut é in half
    assert decode_text(data, "f", cut=True).text == "Jos"
    assert decode_text(data, "f").notes  # uncut, the same bytes are not UTF-8


@pytest.mark.parametrize(
    ("name", "key", "notes"),
    [
        ("jcagent.conf", "5f3e1b2c9d8a7b6c5d4e3f21", ()),
        ("jcagent_eu_ps_regex_only.conf", "64a0c0ffee00aa11bb22cc33", ()),
        ("jcagent_no_key.conf", None, ("jcagent.conf has no systemKey",)),
    ],
)
def test_system_key(name: str, key: str | None, notes: tuple[str, ...]) -> None:
    assert parse_system_key(raw_file(sample(name), CONTRIB + "jcagent.conf")) == (key, notes)


def test_system_key_of_an_absent_conf_has_no_note() -> None:
    assert parse_system_key(raw_file(None, CONTRIB + "jcagent.conf")) == (None, ())


def test_system_key_in_a_utf16_conf() -> None:
    content = codecs.BOM_UTF16_LE + '{ "systemKey" : "abc123" }'.encode("utf-16-le")
    assert parse_system_key(raw_file(content, CONTRIB + "jcagent.conf")) == ("abc123", ())


LOG = "C:\\Windows\\Temp\\jcagent.log"


def test_log_tail_keeps_error_and_warn_lines_in_order() -> None:
    lines, notes = parse_log_tail(raw_file(sample("jcagent.log"), LOG))
    assert notes == ()
    assert lines == [
        "2026/11/30 09:58:03 [4412] [WARN] Slow response from agent.jumpcloud.com",
        "2026/11/30 10:00:00 [4412] [ERROR] Locking user jonathan. User reached maximum failed password attempts (3)",
        "2026/11/30 10:01:00 [4412] [ERROR] User José failed to login from <nil>, process name: , caused by "
        "password change failure: false",
    ]


def test_log_tail_is_bounded_to_the_last_lines() -> None:
    content = "".join(f"2026/11/30 10:00:{i:02d} [1] [ERROR] failure {i}\r\n" for i in range(50)).encode()
    lines, _ = parse_log_tail(raw_file(content, LOG), limit=5)
    assert [line.rsplit(" ", 1)[1] for line in lines] == ["45", "46", "47", "48", "49"]
    assert parse_log_tail(raw_file(content, LOG), limit=0) == ([], ())
    with pytest.raises(ValueError):
        parse_log_tail(raw_file(content, LOG), limit=501)


def test_a_cut_tail_drops_its_partial_first_line() -> None:
    whole = b"2026/11/30 10:00:00 [1] [ERROR] first error, long enough\r\n2026/11/30 10:00:01 [1] [WARN] second\r\n"
    # The bound cut the file inside the first line: what is left of it still has "[ERROR]" in it.
    tail = whole[10:]
    lines, _ = parse_log_tail(raw_file(tail, LOG, size=len(whole), truncated=True))
    assert lines == ["2026/11/30 10:00:01 [1] [WARN] second"]
    # The same bytes, not cut, are a whole line and count.
    lines, _ = parse_log_tail(raw_file(whole, LOG))
    assert len(lines) == 2


def test_a_cut_tail_with_a_broken_character_still_reads() -> None:
    tail = "é first\n2026/11/30 [1] [ERROR] José\n".encode()[1:]  # cut inside é
    lines, notes = parse_log_tail(raw_file(tail, LOG, truncated=True))
    assert lines == ["2026/11/30 [1] [ERROR] José"] and notes == ()


def test_info_lines_mentioning_error_do_not_count() -> None:
    content = b"2026/11/30 10:00:00 [1] [INFO] no error here, ERROR is a word\n"
    assert parse_log_tail(raw_file(content, LOG)) == ([], ())


def test_raw_file_base64_round_trip_is_exact() -> None:
    content = sample("managed_users_utf16le_bom.json")
    raw = raw_file(content)
    assert raw.base64 is not None and base64.b64decode(raw.base64) == content
