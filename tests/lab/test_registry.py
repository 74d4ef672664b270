"""Every action runs on every scenario host through the lab's engine, and its document passes its result model."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from actioncases import required_fillers
from pydantic import ValidationError

from toolkit import backups
from toolkit.actions import Action, get_action, registry
from toolkit.lab import readback
from toolkit.lab.engine import EngineResult, run_script
from toolkit.lab.events import agent_sync
from toolkit.lab.host import LabFaults, LabHost
from toolkit.lab.scenarios import RANDOM_SCENARIO, builtin_names, load_hosts
from toolkit.results import RawOutput
from toolkit.secrets import Secret

ALL_HOSTS = [h for n in builtin_names() if n != RANDOM_SCENARIO for h in load_hosts(n)]
ALL_HOSTS += load_hosts(RANDOM_SCENARIO, count=30, seed=3)


def sample_parameters(action: Action, host: LabHost) -> dict[str, Any]:
    """Plausible values for every parameter: a real local user where a name is asked for."""
    local = next((u.name for u in host.users if u.rid >= 1000), "alice")
    values: dict[str, Any] = {}
    for param in action.params:
        if param.kind == "string[]":
            values[param.name] = list(host.jc_users) or [local]
        elif param.kind == "int":
            values[param.name] = 5
        elif param.kind == "bool":
            values[param.name] = False
        elif param.kind == "secret":
            values[param.name] = Secret("Lab-Passw0rd-1234")
        elif param.default is not None:
            values[param.name] = param.default
        elif param.name.lower() in ("newname",):
            values[param.name] = "jcfix-renamed"
        elif param.name.lower().endswith("id"):
            values[param.name] = "run-0001"
        else:
            values[param.name] = local
    return values


def run_on(host: LabHost, action: Action, values: dict[str, Any], whatif: bool) -> EngineResult:
    """The rendered script, with its parameters as the WinRM transport sends them, through the lab's engine."""
    rendered = action.render(values)
    parameters: list[tuple[str | None, Any]] = [
        (name, value.reveal() if isinstance(value, Secret) else value) for name, value in rendered.parameters.items()
    ]
    if whatif:
        parameters.append(("WhatIf", True))
    return run_script(host, rendered.script, parameters)


def _diff(before: Any, after: Any) -> Any:
    if isinstance(before, dict) and isinstance(after, dict):
        return {k: (before.get(k), after.get(k)) for k in set(before) | set(after) if before.get(k) != after.get(k)}
    return (before, after)


@pytest.mark.parametrize("action", list(registry().values()), ids=lambda a: a.name)
def test_every_action_runs_on_every_scenario_host_and_its_document_validates(action: Action) -> None:
    for host in ALL_HOSTS:
        for whatif in (True, False):
            copy = host.model_copy(deep=True)
            copy.faults = LabFaults()  # the listener's injected faults are tested in test_faults.py
            agent_sync(copy)  # what the agent provisions on its own happens now, not during the script
            before = readback.fingerprint(copy)
            result = run_on(copy, action, sample_parameters(action, copy), whatif)
            where = f"{action.name} on {host.hostname} (whatif={whatif})"
            assert result.terminating is None, f"{where}: {result.terminating}"
            assert len(result.output) == 1, f"{where}: {result.output} {result.errors}"
            parsed = action.parse(RawOutput(output=result.output, error_records=[e.message for e in result.errors]))
            invalid = parsed.error is not None and parsed.error.category == "invalid_result"
            assert not invalid, f"{where}: {parsed.error}"
            assert parsed.action == action.name
            if whatif and action.changes_state:
                after = readback.fingerprint(copy)
                changed = {part: _diff(before[part], after[part]) for part in before if before[part] != after[part]}
                assert not changed, f"{where}: the machine changed under -WhatIf: {changed}"


# ---- issue 10: backup records have one shape on the host and in the lab (toolkit/backups.py) -------------

ENTRY_RE = re.compile(r"-Kind '(?P<kind>[a-z_]+)' -Entry \(\[ordered\]@\{(?P<body>.*?)\}\)", re.S)
KEY_RE = re.compile(r"(?:^|[;{\s])(?P<key>[a-z_]+)\s*=", re.M)


def _template_entry_keys() -> dict[str, set[str]]:
    """The keys each fix template writes into each kind of backup entry (Save-JcfixBackup -Entry ...)."""
    found: dict[str, set[str]] = {}
    for action in registry().values():
        script = action.render(required_fillers(action)).script
        for match in ENTRY_RE.finditer(script):
            found.setdefault(match["kind"], set()).update(KEY_RE.findall(match["body"]))
    return found


def _ordered_keys(script: str, function: str) -> set[str]:
    """The keys of the [ordered]@{...} a helper function builds (first one in its body)."""
    body = script[script.index(f"function {function} ") :]
    block = re.search(r"\[ordered\]@\{(.*?)\}", body, re.S)
    assert block is not None
    return set(KEY_RE.findall(block.group(1)))


def test_every_backup_kind_the_templates_write_has_the_schema_shape() -> None:
    entries = _template_entry_keys()
    assert set(entries) == set(backups.KINDS)
    models = {
        "rename": backups.RenameEntry, "registry": backups.RegistryEntry, "policy": backups.PolicyEntry,
        "task": backups.TaskEntry, "msa_unlink": backups.MsaUnlinkEntry, "ngc_wipe": backups.NgcWipeEntry,
    }  # fmt: skip
    for kind, keys in entries.items():
        assert keys == set(models[kind].model_fields), kind
    script = (
        get_action("remove_picture_password").render(required_fillers(get_action("remove_picture_password"))).script
    )
    assert _ordered_keys(script, "Save-JcfixBackup") == {"schema", "kind", "run_id", "saved", "entry"}
    assert _ordered_keys(script, "Get-JcfixRegistrySnapshot") == set(backups.RegistrySnapshot.model_fields)
    tree_keys = set(KEY_RE.findall(re.search(r"\[ordered\]@\{ (name = \$Name;.*?)\}", script).group(1)))
    assert tree_keys == set(backups.RegistryTree.model_fields)


# What Save-JcfixBackup writes for a picture-password key with a subkey (ConvertTo-Json -Depth 100 in 5.1:
# four-space indents, ordered keys, binary as base64, MultiString as an array, DWORD as a number).
TEMPLATE_REGISTRY_RECORD = r"""{
    "schema":  1,
    "kind":  "registry",
    "run_id":  "20261130T120000Z-3f9a1c",
    "saved":  "2026-11-30T12:00:00Z",
    "entry":  {
                  "reason":  "picture password",
                  "sid":  "S-1-5-21-1004336348-1177238915-682003330-1001",
                  "snapshot":  {
                                   "hive":  "HKLM",
                                   "view":  "Registry64",
                                   "subkey":  "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\LogonUI\\PicturePassword\\S-1-5-21-1004336348-1177238915-682003330-1001",
                                   "exists":  true,
                                   "tree":  {
                                                "name":  "S-1-5-21-1004336348-1177238915-682003330-1001",
                                                "values":  [
                                                               {
                                                                   "name":  "Gesture",
                                                                   "kind":  "Binary",
                                                                   "value":  "AQID"
                                                               },
                                                               {
                                                                   "name":  "Version",
                                                                   "kind":  "DWord",
                                                                   "value":  2
                                                               }
                                                           ],
                                                "subkeys":  [
                                                                {
                                                                    "name":  "Tiles",
                                                                    "values":  [
                                                                                   {
                                                                                       "name":  "Names",
                                                                                       "kind":  "MultiString",
                                                                                       "value":  [
                                                                                                     "a",
                                                                                                     "b"
                                                                                                 ]
                                                                                   }
                                                                               ],
                                                                    "subkeys":  [

                                                                                ],
                                                                    "sddl":  null
                                                                }
                                                            ],
                                                "sddl":  "D:P(A;CI;KA;;;SY)(A;CI;KA;;;BA)"
                                            }
                               }
              }
}"""  # noqa: E501 (the 5.1 layout, verbatim)


def test_a_record_as_the_template_writes_it_validates() -> None:
    record = backups.validate_json(TEMPLATE_REGISTRY_RECORD)
    assert record.kind == "registry"
    assert record.entry.snapshot.tree is not None and record.entry.snapshot.tree.subkeys[0].name == "Tiles"
    schema = backups.json_schema()
    assert {ref.rsplit("/", 1)[-1] for ref in schema["discriminator"]["mapping"].values()} >= {"RegistryRecord"}
    assert set(schema["discriminator"]["mapping"]) == set(backups.KINDS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r["entry"]["snapshot"].update(subkey="SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run"),
            "may only",
        ),
        (lambda r: r["entry"]["snapshot"]["tree"].update(name="..\\Run"), "pattern"),
        (lambda r: r.update(kind="registry_import"), "does not match any of the expected tags"),
        (lambda r: r["entry"]["snapshot"]["tree"]["values"][0].update(kind="Link"), "Input should be"),
    ],
)
def test_planted_records_are_rejected(change: Any, message: str) -> None:
    record = json.loads(TEMPLATE_REGISTRY_RECORD)
    change(record)
    with pytest.raises(ValidationError, match=re.escape(message)):
        backups.validate_record(record)


def test_fixes_on_the_machine_write_schema_records() -> None:
    # The records a fix writes on the machine are read back from its disk and checked against the one schema.
    checked = 0
    for host in ALL_HOSTS:
        copy = host.model_copy(deep=True)
        for action in registry().values():
            if action.changes_state and action.name != "undo_run":
                run_on(copy, action, sample_parameters(action, copy), False)
        for name, record in readback.backups(copy, "run-0001").items():
            assert backups.validate_record(record).run_id == "run-0001", (host.hostname, name)
            checked += 1
    assert checked > len(ALL_HOSTS) // 2  # most hosts had something to change, so records were written


def test_collect_facts_brings_agent_files_back_raw() -> None:
    # Issue 10, defect 3: managedUsers.json with several users comes back as bytes; Python reads every name.
    from toolkit.agentfiles import parse_managed_users
    from toolkit.facts import HostFacts

    (host,) = [h for h in load_hosts("healthy")]
    result = run_on(host, get_action("collect_facts"), {}, False)
    facts = HostFacts.model_validate(json.loads(result.output[0])["data"])
    raw = facts.agent.files.managed_users
    assert json.loads(base64.b64decode(raw.base64 or "")) == [{"username": "alice"}, {"username": "bob"}]
    assert parse_managed_users(raw).usernames == ("alice", "bob")
    assert facts.elevated is True
    assert {(s.sid, s.process) for s in facts.sessions if s.session_id == 1} >= {("S-1-5-18", "winlogon.exe")}
