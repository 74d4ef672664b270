"""Connection settings: precedence, validation, and where a password may come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.errors import UsageError
from toolkit.secrets import Secret
from toolkit.settings import ConnectionSettings, load_settings, resolve_password


def _no_config(tmp_path: Path) -> Path:
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    return empty


def test_defaults_are_safe(tmp_path: Path) -> None:
    settings = load_settings({}, environ={}, config_path=_no_config(tmp_path))
    assert settings.scheme == "https"
    assert settings.default_port == 5986
    assert settings.auth == "negotiate"
    assert settings.cert_validation is True


def test_flags_beat_environment_beat_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("connection:\n  port: 1111\n  auth: ntlm\n  user: from-file\n  deadline: 30\n")
    env = {"JCFIX_PORT": "2222", "JCFIX_USER": "from-env"}
    settings = load_settings({"port": 3333}, environ=env, config_path=config)
    assert settings.port == 3333  # flag
    assert settings.user == "from-env"  # environment over file
    assert settings.auth == "ntlm"  # file over default
    assert settings.deadline == 30.0


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"port": 0}, "port must be 1..65535"),
        ({"port": 70000}, "port must be 1..65535"),
        ({"auth": "digest"}, "auth must be one of"),
        ({"scheme": "ftp"}, "scheme must be http or https"),
        ({"deadline": 0}, "deadline must be more than 0"),
        ({"read_timeout": 10, "operation_timeout": 20}, "must be longer than operation-timeout"),
        ({"auth": "certificate", "scheme": "http"}, "certificate auth needs https"),
    ],
)
def test_invalid_settings_are_one_line_usage_errors(tmp_path: Path, flags: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_settings(flags, environ={}, config_path=_no_config(tmp_path))


def test_config_file_errors_name_the_file_and_the_key(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("connection:\n  prot: 5985\n")
    with pytest.raises(UsageError, match=r"config.yaml:2: unknown setting 'prot' \(did you mean port\?\)"):
        load_settings({}, environ={}, config_path=config)
    config.write_text("connection:\n  password: hunter2\n")
    with pytest.raises(UsageError, match="passwords are not read from files") as info:
        load_settings({}, environ={}, config_path=config)
    assert "hunter2" not in str(info.value)
    config.write_text("connection:\n  port: [\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        load_settings({}, environ={}, config_path=config)


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="JCFIX_PORT"):
        load_settings({}, environ={"JCFIX_PORT": "eighty"}, config_path=_no_config(tmp_path))


def test_password_comes_from_the_environment_as_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("toolkit.settings._keyring_password", lambda user: None)
    settings = resolve_password(ConnectionSettings(user="admin"), environ={"JCFIX_PASSWORD": "s3cret!"}, prompt=False)
    assert isinstance(settings.password, Secret)
    assert settings.password.reveal() == "s3cret!"
    assert "s3cret!" not in repr(settings)


def test_password_falls_back_to_the_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("toolkit.settings._keyring_password", lambda user: f"kr-{user}")
    settings = resolve_password(ConnectionSettings(user="admin"), environ={}, prompt=False)
    assert settings.password is not None and settings.password.reveal() == "kr-admin"


def test_missing_user_or_password_stops_before_connecting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("toolkit.settings._keyring_password", lambda user: None)
    with pytest.raises(UsageError, match="no user"):
        resolve_password(ConnectionSettings(), environ={}, prompt=False)
    with pytest.raises(UsageError, match="no password for admin"):
        resolve_password(ConnectionSettings(user="admin"), environ={}, prompt=False)
