"""Every action in the registry has a lab simulation whose documents pass the action's own result model."""

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
from toolkit.lab.host import LabHost
from toolkit.lab.scenarios import RANDOM_SCENARIO, builtin_names, load_hosts
from toolkit.results import RawOutput

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
        elif param.name.lower() in ("newname",):
            values[param.name] = f"{local}-renamed"
        elif param.name.lower().endswith("id"):
            values[param.name] = "run-0001"
        else:
            values[param.name] = local
    return values


@pytest.mark.parametrize("action", list(registry().values()), ids=lambda a: a.name)
def test_action_has_a_simulation_that_matches_its_result_model(action: Action) -> None:
    assert callable(action.simulate), f"{action.name} has no lab simulation"
    for host in ALL_HOSTS:
        for whatif in (True, False):
            copy = host.model_copy(deep=True)
            document = action.simulate(copy, sample_parameters(action, copy), whatif)
            assert isinstance(document, dict), f"{action.name} on {host.hostname}: not a document"
            result = action.parse(RawOutput(output=[json.dumps(document)]))
            assert not (result.error is not None and result.error.category == "invalid_result"), (
                f"{action.name} on {host.hostname} (whatif={whatif}): {result.error}"
            )
            assert result.action == action.name
            if whatif and action.changes_state:
                assert copy.model_dump() == host.model_dump(), f"{action.name} changed {host.hostname} under -WhatIf"


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


def test_lab_simulations_write_schema_records() -> None:
    for host in ALL_HOSTS:
        copy = host.model_copy(deep=True)
        for action in registry().values():
            if action.changes_state and action.name != "undo_run":
                action.simulate(copy, sample_parameters(action, copy), False)
        for run_id, records in copy.backups.items():
            for record in records:
                body = {k: v for k, v in record.items() if k != "path"}
                assert backups.validate_record(body).run_id == run_id


def test_collect_facts_brings_agent_files_back_raw() -> None:
    # Issue 10, defect 3: managedUsers.json with several users comes back as bytes; Python reads every name.
    from toolkit.agentfiles import parse_managed_users
    from toolkit.facts import HostFacts

    (host,) = [h for h in load_hosts("healthy")]
    document = get_action("collect_facts").simulate(host, {}, False)
    facts = HostFacts.model_validate(document["data"])
    raw = facts.agent.files.managed_users
    assert json.loads(base64.b64decode(raw.base64 or "")) == [{"username": "alice"}, {"username": "bob"}]
    assert parse_managed_users(raw).usernames == ("alice", "bob")
    assert facts.elevated is True
    assert {(s.sid, s.process) for s in facts.sessions if s.session_id == 1} >= {("S-1-5-18", "winlogon.exe")}
