"""Run history end to end: fixes and diagnoses are recorded host by host, ``jcfix runs`` shows them, ``jcfix
undo --run-id`` finds the hosts a run touched without an inventory, and a secret never reaches the file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from e2e_support import Lab, json_out, run_jcfix

from toolkit.exitcodes import ExitCode
from toolkit.history import History
from toolkit.lab.hostmachine import machine_of


def test_fix_run_is_recorded_and_runs_list_and_show_print_it(start_lab: Callable[..., Lab], tmp_path: Path) -> None:
    lab = start_lab("space")
    db = tmp_path / "h.sqlite3"
    env = {"JCFIX_HISTORY": str(db)}
    args = ("fix", "rename", "-i", str(lab.inventory), "--user", "john smith", "--to", "john.smith")
    fixed = run_jcfix(*args, "--run-id", "r-fix-1", env=env)
    assert fixed.returncode == ExitCode.CHANGED, fixed.stderr
    diagnosed = run_jcfix("diagnose", "-i", str(lab.inventory), env=env)
    assert diagnosed.returncode in (ExitCode.OK, ExitCode.BLOCKERS), diagnosed.stderr

    with History(db) as history:
        latest, first = history.runs(10)
        assert first.run_id == "r-fix-1" and latest.command.startswith("jcfix diagnose")
        assert first.parameters["UserName"] == "john smith" and first.parameters["RunId"] == "r-fix-1"
        assert first.counts is not None and first.counts["changed"] == 1 and first.exit_code == ExitCode.CHANGED
        assert first.user and first.ended is not None and not first.check_mode
        (host,) = history.hosts(first.seq)
        assert (host.host, host.status, host.touched, host.scheme) == ("lab-space", "changed", True, "http")
        (step,) = history.steps(first.seq, "lab-space")
        assert (step.action, step.status, step.changed) == ("rename_user", "changed", True)
        assert step.document["data"]["after"]["name"] == "john.smith"

    listed = run_jcfix("runs", "list", "--limit", "1", env=env)
    assert listed.returncode == 0 and "jcfix diagnose" in listed.stdout and "r-fix-1" not in listed.stdout
    listed_all = json_out(run_jcfix("runs", "list", "-o", "json", env=env))
    assert (listed_all["schema"], listed_all["command"], listed_all["hosts"]) == (1, "runs list", [])
    assert [r["run_id"] for r in listed_all["runs"]][1] == "r-fix-1"

    shown = run_jcfix("runs", "show", "r-fix-1", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "lab-space" in shown.stdout and "rename_user changed, changed" in shown.stdout
    assert "john smith" in shown.stdout  # the parameters
    one_host = run_jcfix("runs", "show", "r-fix-1", "--host", "lab-space", env=env)
    assert '"name": "john.smith"' in one_host.stdout  # --host shows the host's whole result document
    as_json = json_out(run_jcfix("runs", "show", "r-fix-1", "-o", "json", env=env))
    assert (as_json["schema"], as_json["command"], as_json["run_id"]) == (1, "runs show", "r-fix-1")
    assert as_json["hosts"][0]["host"] == "lab-space" and as_json["hosts"][0]["steps"][0]["status"] == "changed"

    missing = run_jcfix("runs", "show", "no-such-run", env=env)
    assert missing.returncode == ExitCode.USAGE and "no run 'no-such-run'" in missing.stderr
    no_host = run_jcfix("runs", "show", "r-fix-1", "--host", "pc-other", env=env)
    assert no_host.returncode == ExitCode.USAGE and "no host 'pc-other'" in no_host.stderr


def test_undo_by_run_id_finds_the_touched_hosts_in_history(start_lab: Callable[..., Lab], tmp_path: Path) -> None:
    lab = start_lab("space")
    (host,) = lab.fleet.hosts
    db = tmp_path / "h.sqlite3"
    args = ("fix", "rename", "-i", str(lab.inventory), "--user", "john smith", "--to", "john.smith")
    # A check run touches nothing: undo of it has nothing to do, and says so before connecting.
    checked = run_jcfix(*args, "--check", "--run-id", "r-check", "--history", str(db))
    assert checked.returncode == ExitCode.CHANGED, checked.stderr
    nothing = run_jcfix("undo", "--run-id", "r-check", "--history", str(db))
    assert nothing.returncode == ExitCode.USAGE and "changed nothing" in nothing.stderr
    unknown = run_jcfix("undo", "--run-id", "r-never", "--history", str(db))
    assert unknown.returncode == ExitCode.USAGE and "not in the run history" in unknown.stderr

    applied = run_jcfix(*args, "--run-id", "r-apply", "--history", str(db))
    assert applied.returncode == ExitCode.CHANGED, applied.stderr
    assert machine_of(host).state.sam.accounts[1001].name == "john.smith"

    # No --host, no --inventory: the history knows lab-space and how the run reached it.
    undone = run_jcfix("undo", "--run-id", "r-apply", "--history", str(db), "-o", "json")
    assert undone.returncode == ExitCode.CHANGED, undone.stderr
    (result,) = json_out(undone)
    assert result["host"] == "lab-space"
    assert result["results"][0]["data"]["restored"] == ["renamed 'john.smith' back to 'john smith'"]
    assert machine_of(host).state.sam.accounts[1001].name == "john smith"


def test_a_secret_given_to_a_fix_never_reaches_the_history_file(start_lab: Callable[..., Lab], tmp_path: Path) -> None:
    lab = start_lab("msa")
    db = tmp_path / "h.sqlite3"
    secret = "N3w-Local-Pa55!-never-stored"
    result = run_jcfix(
        "fix",
        "convert-msa",
        "-i",
        str(lab.inventory),
        "--user",
        "maria",
        "--method",
        "unlink",
        "--accept-data-loss",
        "--history",
        str(db),
        env={"JCFIX_NEW_PASSWORD": secret},
    )
    assert result.returncode == ExitCode.CHANGED, result.stderr
    with History(db) as history:
        (run,) = history.runs()
        assert run.parameters["NewPassword"] == "******"  # recorded, redacted
        (step,) = history.steps(run.seq, lab.fleet.hosts[0].hostname)
        assert step.parameters["NewPassword"] == "******"
    files = sorted(tmp_path.glob("h.sqlite3*"))  # the database and its write-ahead log, if any
    assert db in files
    for path in files:
        data = path.read_bytes()
        assert secret.encode() not in data and secret.encode("utf-16-le") not in data, path
    assert secret not in json.dumps(json_out(run_jcfix("runs", "show", run.run_id, "-o", "json", "--history", str(db))))
