"""powershell.exe for scheduled tasks: exit codes and -File arguments (about_PowerShell_exe, 5.1)."""

from __future__ import annotations

from psengine_fakes import FakeMachine

from toolkit.lab.powershell.hosting import FILE_NOT_FOUND_EXIT, attach, file_arguments, run_command, run_file


def test_exit_codes_of_an_inline_command() -> None:
    machine = FakeMachine()
    script = "function Complete {\n    param([int] $Code)\n    exit $Code\n}\nComplete -Code 3\n'never'"
    assert run_command(machine, script) == 3
    assert run_command(machine, "throw 'boom'") == 1
    assert run_command(machine, "$x = 1") == 0
    assert run_command(machine, "exit") == 0


def test_file_arguments_bind_like_a_command_line() -> None:
    assert file_arguments(["-RunId", "r1", "-Force", "-Name:bob", "pos", "-Count", "-5"]) == [
        ("RunId", "r1"), ("Force", True), ("Name", "bob"), (None, "pos"), ("Count", "-5")]


def test_run_file_reads_the_script_from_the_machine_and_binds_its_parameters() -> None:
    machine = FakeMachine()
    machine.files["C:\\t\\s.ps1"] = b"param([int] $Code, [switch] $Fail)\nif ($Fail) { throw 'x' }\nexit ($Code + 1)\n"
    assert run_file(machine, "C:\\t\\s.ps1", ["-Code", "41"]) == 42
    assert run_file(machine, "C:\\t\\s.ps1", ["-Fail"]) == 1
    assert run_file(machine, "C:\\t\\missing.ps1", []) == FILE_NOT_FOUND_EXIT


def test_attach_sets_both_runners() -> None:
    machine = FakeMachine()
    attach(machine)
    assert machine.task_runner is run_file  # type: ignore[attr-defined]
    assert machine.command_runner is run_command  # type: ignore[attr-defined]
