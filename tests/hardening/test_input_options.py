"""Issue 15 item 6: a missing config file that was named, a missing or unreadable CA bundle, and timeouts that
are not a finite number of seconds above 0 are bad input: exit 2, one line, before anything connects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hardening_support import ConnectionRecorder, Outcome, bad_input_problems, base_environment, run_here

from toolkit.errors import UsageError
from toolkit.settings import ConnectionSettings, load_settings


def _run(tmp_path: Path, args: list[str], hosts: int = 1, **env_changes: str) -> tuple[Outcome, int]:
    """``jcfix users list ARGS`` against ``hosts`` loopback hosts that record connections."""
    recorder = ConnectionRecorder()
    try:
        env = base_environment(tmp_path)
        (tmp_path / "no-config.yaml").write_text("", encoding="utf-8")  # the environment's config: empty
        env.update(env_changes)
        targets = [arg for n in range(hosts) for arg in ("-H", f"127.0.0.{n + 1}")]
        outcome = run_here(["users", "list", *targets, "--http", "--port", str(recorder.port), *args], env)
    finally:
        recorder.close()
    return outcome, recorder.count


def test_a_missing_config_given_with_config_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "typo-config.yaml"
    outcome, connections = _run(tmp_path, ["--config", str(missing)])
    assert bad_input_problems(outcome) == [] and f"{missing}: no such config file" in outcome.stderr, outcome
    assert connections == 0


def test_the_default_config_location_may_be_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JCFIX_CONFIG", raising=False)
    monkeypatch.setattr("platformdirs.user_config_dir", lambda *_: str(tmp_path / "nowhere"))
    assert load_settings({}, environ={}).scheme == "https"
    with pytest.raises(UsageError, match="no such config file"):
        load_settings({}, environ={}, config_path=tmp_path / "nowhere" / "config.yaml")


@pytest.mark.parametrize("hosts", [1, 3])
def test_a_missing_ca_cert_fails_once_up_front(tmp_path: Path, hosts: int) -> None:
    missing = tmp_path / "no-ca.pem"
    outcome, connections = _run(tmp_path, ["--ca-cert", str(missing)], hosts=hosts)
    assert bad_input_problems(outcome) == [], outcome
    assert f"--ca-cert {missing}: cannot read the CA bundle" in outcome.stderr
    assert connections == 0


def test_an_unreadable_ca_cert_fails_up_front(tmp_path: Path) -> None:
    outcome, connections = _run(tmp_path, ["--ca-cert", str(tmp_path)])  # a folder, not a file
    assert bad_input_problems(outcome) == [] and "cannot read the CA bundle" in outcome.stderr, outcome
    assert connections == 0


def test_an_inventory_ca_cert_that_is_missing_names_the_host(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yml"
    inventory.write_text(f"ca_cert: {tmp_path / 'gone.pem'}\nhosts:\n  pc-1: {{address: 127.0.0.9}}\n")
    env = base_environment(tmp_path)
    (tmp_path / "no-config.yaml").write_text("", encoding="utf-8")
    outcome = run_here(["users", "list", "-i", str(inventory), "--http"], env)
    assert bad_input_problems(outcome) == [] and "host pc-1: ca_cert" in outcome.stderr, outcome


@pytest.mark.parametrize("option", ["--deadline", "--connect-timeout", "--read-timeout"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-5", "0"])
def test_timeouts_must_be_finite_and_above_zero(tmp_path: Path, option: str, value: str) -> None:
    outcome, connections = _run(tmp_path, [option, value])
    assert bad_input_problems(outcome) == [], outcome
    assert f"{option[2:]} must be more than 0 seconds" in outcome.stderr
    assert connections == 0


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_timeouts_from_the_environment_and_the_config_file_are_checked_too(tmp_path: Path, value: str) -> None:
    with pytest.raises(UsageError, match="deadline must be more than 0 seconds"):
        load_settings({}, environ={"JCFIX_DEADLINE": value}, config_path=_empty(tmp_path))
    config = tmp_path / "config.yaml"
    config.write_text(f"connection:\n  read_timeout: {'.nan' if value == 'nan' else value}\n")
    with pytest.raises(UsageError, match="read-timeout must be more than 0 seconds"):
        load_settings({}, environ={}, config_path=config)


def test_finite_timeouts_are_accepted() -> None:
    settings = ConnectionSettings(deadline=0.5, connect_timeout=1, read_timeout=30.5, operation_timeout=20)
    assert (settings.deadline, settings.read_timeout) == (0.5, 30.5)


def _empty(tmp_path: Path) -> Any:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    return path


@pytest.mark.parametrize("value", [".inf", ".nan", "-1", "0"])
def test_a_playbook_step_timeout_must_be_finite_and_above_zero(tmp_path: Path, value: str) -> None:
    from toolkit.playbook import load_playbook

    path = tmp_path / "pb.yml"
    path.write_text(f"name: p\nsteps:\n  - action: diagnose\n    timeout: {value}\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"pb\.yml:4: steps\[0\]\.timeout: Input should be (a finite|greater)"):
        load_playbook(str(path))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("read_timout: 3\n", r"config\.yaml:1: unknown key 'read_timout' \(known: connection\)"),
        ("deadline: 3\n", r"config\.yaml:1: unknown key 'deadline' \(settings go under connection:\)"),
        (
            "connection:\n  read_timout: 3\n",
            r"config\.yaml:2: unknown setting 'read_timout' \(did you mean read_timeout",
        ),
    ],
)
def test_config_file_keys_are_checked_with_the_line(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        load_settings({}, environ={}, config_path=config)


def test_a_ca_cert_path_with_control_characters_stays_one_line(tmp_path: Path) -> None:
    outcome, connections = _run(tmp_path, ["--ca-cert", "al\x1bice\nlab-msa: rename_user ok"])
    assert bad_input_problems(outcome) == [], outcome
    assert "\x1b" not in outcome.stderr and "al\\x1bice\\x0alab-msa" in outcome.stderr
    assert connections == 0


def test_a_missing_config_named_by_jcfix_config_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "typo-config.yaml"
    outcome, connections = _run(tmp_path, [], JCFIX_CONFIG=str(missing))
    assert bad_input_problems(outcome) == [] and f"{missing}: no such config file" in outcome.stderr, outcome
    assert connections == 0
    with pytest.raises(UsageError, match="no such config file"):
        load_settings({}, environ={"JCFIX_CONFIG": str(missing)})
