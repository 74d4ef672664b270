"""The backup records jcfix's fix scripts write on a host, one schema for the scripts and the lab.

A fix saves what it is about to change under ``C:\\ProgramData\\jcfix\\backups\\<run>\\NNN-<kind>.json``
(``Save-JcfixBackup`` in ``ps_templates/_fix.ps1.j2``); ``undo_run`` reads them back. Every record is::

    {"schema": 1, "kind": KIND, "run_id": RUN, "saved": "2026-11-30T12:00:00Z", "entry": {...}}

with one entry shape per kind (below). The lab's tests read the records the real scripts wrote on a simulated
machine back through :func:`validate_record`, and :func:`json_schema` is the same contract as a JSON Schema,
so the templates and the tests agree on one shape. ``undo_run`` on the host also refuses any record that names a
target jcfix never changes (see the allow-lists here, mirrored in ``undo_run.ps1.j2``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

SCHEMA_VERSION = 1
KINDS = ("rename", "registry", "policy", "task", "msa_unlink", "ngc_wipe")
RUN_ID_PATTERN = r"^[A-Za-z0-9-]{1,64}$"
LOCAL_SID_PATTERN = r"^S-1-5-21-\d+-\d+-\d+-\d+$"
ISO_UTC_PATTERN = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
# The only targets undo may restore (undo_run.ps1.j2 checks the same on the host).
SYSTEM_POLICY_SUBKEY: Final = "SOFTWARE\\Policies\\Microsoft\\Windows\\System"
# The levels of the policy key a fix may create (SOFTWARE\Policies itself is always there on Windows).
CreatablePolicyKey = Literal[
    "SOFTWARE\\Policies\\Microsoft",
    "SOFTWARE\\Policies\\Microsoft\\Windows",
    "SOFTWARE\\Policies\\Microsoft\\Windows\\System",
]
ALLOWED_POLICY_NAMES = ("AllowDomainPINLogon", "BlockDomainPicturePassword")
PICTURE_PASSWORD_SUBKEY = "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\LogonUI\\PicturePassword"
TASK_PATH: Final = "\\jcfix\\"
# The value kinds Get-JcfixRegistryTree saves (Microsoft.Win32.RegistryValueKind names).
ValueKind = Literal["String", "ExpandString", "Binary", "DWord", "QWord", "MultiString"]
MAX_TREE_DEPTH = 32


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegistryValue(_Strict):
    """One value: String/ExpandString text, Binary as base64, DWord/QWord numbers, MultiString a list."""

    name: str
    kind: ValueKind
    value: str | int | list[str]


class RegistryTree(_Strict):
    """A key (``name`` is its own last path component), its values and its subkeys, recursively."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[^\\]+$")]
    values: list[RegistryValue] = Field(default_factory=list)
    subkeys: list[RegistryTree] = Field(default_factory=list)
    sddl: str | None = None

    def depth(self) -> int:
        """Levels in this tree (1: no subkeys)."""
        return 1 + max((sub.depth() for sub in self.subkeys), default=0)


class RegistrySnapshot(_Strict):
    """An HKLM key in the 64-bit view as it was before the change (``exists`` False: it was absent)."""

    hive: Literal["HKLM"] = "HKLM"
    view: Literal["Registry64"] = "Registry64"
    subkey: str
    exists: bool
    tree: RegistryTree | None = None


class RenameEntry(_Strict):
    sid: Annotated[str, Field(pattern=LOCAL_SID_PATTERN)]
    old_name: Annotated[str, Field(min_length=1)]
    new_name: Annotated[str, Field(min_length=1)]
    profile_path: str | None = None


class RegistryEntry(_Strict):
    """A deleted key (the picture-password registration of ``sid``), saved as a whole tree."""

    reason: str
    sid: Annotated[str, Field(pattern=LOCAL_SID_PATTERN)]
    snapshot: RegistrySnapshot


class PolicyEntry(_Strict):
    """A sign-in policy DWORD before the change (``previous`` None: it was not set).

    ``key_existed``: whether the policy key existed before (False: jcfix created it, and undo deletes it again
    once it is empty); None in older records (and picture-password ones), whose key undo leaves as it is.
    ``created_keys``: every level of the key path jcfix created, outermost first (undo deletes each, deepest
    first, once empty); None in older records, whose undo deletes only the last level (by ``key_existed``).
    """

    hive: Literal["HKLM"] = "HKLM"
    view: Literal["Registry64"] = "Registry64"
    subkey: Literal["SOFTWARE\\Policies\\Microsoft\\Windows\\System"] = SYSTEM_POLICY_SUBKEY
    name: Literal["AllowDomainPINLogon", "BlockDomainPicturePassword"]
    previous: int | None
    key_existed: bool | None = None
    created_keys: list[CreatablePolicyKey] | None = None


class TaskEntry(_Strict):
    """The one-shot PIN task of ``sid`` and its SYSTEM clean-up task."""

    task_path: Literal["\\jcfix\\"] = TASK_PATH
    task_name: str
    cleanup_task_name: str
    sid: Annotated[str, Field(pattern=LOCAL_SID_PATTERN)]

    @model_validator(mode="after")
    def _names_match_sid(self) -> TaskEntry:
        if self.task_name != f"remove-pin-{self.sid}" or self.cleanup_task_name != f"remove-pin-cleanup-{self.sid}":
            raise ValueError("task names must be remove-pin-<sid> and remove-pin-cleanup-<sid>")
        return self


class MsaUnlinkEntry(_Strict):
    """A Microsoft-account unlink: not restorable; the SAM values are saved in ``sam_backup``."""

    sid: Annotated[str, Field(pattern=LOCAL_SID_PATTERN)]
    name: str
    sam_backup: str


class NgcWipeEntry(_Strict):
    """A wipe of every user's Windows Hello containers: not restorable."""

    path: str
    note: str


class _Record(_Strict):
    schema_: Literal[1] = Field(alias="schema", default=1)
    run_id: Annotated[str, Field(pattern=RUN_ID_PATTERN)]
    saved: Annotated[str, Field(pattern=ISO_UTC_PATTERN)]

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RenameRecord(_Record):
    kind: Literal["rename"]
    entry: RenameEntry


class RegistryRecord(_Record):
    kind: Literal["registry"]
    entry: RegistryEntry

    @field_validator("entry")
    @classmethod
    def _only_the_sid_key(cls, entry: RegistryEntry) -> RegistryEntry:
        expected = f"{PICTURE_PASSWORD_SUBKEY}\\{entry.sid}"
        if entry.snapshot.subkey != expected:
            raise ValueError(f"a registry record may only name {expected}")
        tree = entry.snapshot.tree
        if entry.snapshot.exists != (tree is not None):
            raise ValueError("a snapshot has a tree exactly when the key existed")
        if tree is not None and (tree.name != entry.sid or tree.depth() > MAX_TREE_DEPTH):
            raise ValueError("the saved tree must be the SID's key, at most 32 levels deep")
        return entry


class PolicyRecord(_Record):
    kind: Literal["policy"]
    entry: PolicyEntry


class TaskRecord(_Record):
    kind: Literal["task"]
    entry: TaskEntry


class MsaUnlinkRecord(_Record):
    kind: Literal["msa_unlink"]
    entry: MsaUnlinkEntry


class NgcWipeRecord(_Record):
    kind: Literal["ngc_wipe"]
    entry: NgcWipeEntry


BackupRecord = Annotated[
    RenameRecord | RegistryRecord | PolicyRecord | TaskRecord | MsaUnlinkRecord | NgcWipeRecord,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[BackupRecord] = TypeAdapter(BackupRecord)

BACKUP_FILE_RE = re.compile(r"^\d{3}-[a-z_]+\.json$")


def validate_record(record: Any) -> BackupRecord:
    """The record as a model; raises ``pydantic.ValidationError`` naming the field that is wrong."""
    return _ADAPTER.validate_python(record)


def validate_json(text: str | bytes) -> BackupRecord:
    """A record file's text (as ``Save-JcfixBackup`` writes it) as a model."""
    return _ADAPTER.validate_json(text)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of every record kind (one ``oneOf`` on ``kind``)."""
    return _ADAPTER.json_schema(by_alias=True)


__all__ = [
    "ALLOWED_POLICY_NAMES",
    "KINDS",
    "PICTURE_PASSWORD_SUBKEY",
    "SYSTEM_POLICY_SUBKEY",
    "BackupRecord",
    "RegistrySnapshot",
    "RegistryTree",
    "json_schema",
    "validate_json",
    "validate_record",
]
