"""The one list of what jcfix relies on that JumpCloud's published OpenAPI documents do not declare.

The published documents are ``SwaggerSpecs/JumpCloud.SDK.V1.json`` and ``V2.json`` of the public
``TheJumpCloud/jcapi-powershell`` repository (MIT). jcfix and its lab stand-in are checked against them by
``tests/jumpcloud/spec/``; each entry here is a deliberate exception to that check, with where jcfix uses it
and which of JumpCloud's own public files shows the service has it. Add an entry only with such a source;
nothing in jcfix needs to import this module (the spec tests read it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SUPPORT = "TheJumpCloud/support"  # JumpCloud's PowerShell module, its tests and scripts (MIT)
ADMU = "TheJumpCloud/jumpcloud-ADMU"  # JumpCloud's AD migration utility


@dataclass(frozen=True)
class OffSpec:
    """One undeclared field, endpoint or type.

    Attributes:
        kind: ``field`` (a property the spec's schema lacks), ``endpoint`` (a method and path it lacks) or
            ``type`` (a property whose schema type is narrower than what the service takes or sends).
        method: the HTTP method (``GET``...) of the endpoint, or of an operation that carries the field.
        path: the full path template, as jcfix calls it (``/api/systemusers/{id}``).
        schema: for a field or type, the spec's definition name (``systemuserreturn``), or the operationId for an
            inline schema; "" for an endpoint.
        name: the field's name; "" for an endpoint.
        used_by: where jcfix (or its stand-in) uses it.
        source: the public file that shows JumpCloud has it: ``repository: path`` (and what in it).
        json_type: for a ``type`` entry, the JSON type also accepted (``boolean``).
    """

    kind: Literal["field", "endpoint", "type"]
    method: str
    path: str
    schema: str
    name: str
    used_by: str
    source: str
    json_type: str = ""


_LOCAL_ACCOUNT_SOURCE = (
    f"{SUPPORT}: scripts/automation/Radius/Tests/Public/Start-DeployUserCerts.Tests.ps1 "
    "(PUT /api/systemusers/{id} with {'systemUsername': ...}, then reads $response.systemUsername); "
    f"{SUPPORT}: PowerShell/ModuleChangelog.md 2.9.1 (systemUsername added to Get-JCUser -returnProperties)"
)

OFF_SPEC: tuple[OffSpec, ...] = (
    OffSpec(
        kind="field",
        method="GET",
        path="/api/systemusers",
        schema="systemuserreturn",
        name="systemUsername",
        used_by=(
            "toolkit/jumpcloud/api.py JcUser.system_username (the Local User Account): diagnose name matching; "
            "jc-local-account's uniqueness check filters on it (filter=systemUsername:$eq:NAME)"
        ),
        source=_LOCAL_ACCOUNT_SOURCE,
    ),
    OffSpec(
        kind="field",
        method="POST",
        path="/api/search/systemusers",
        schema="systemuserSearchReturn",
        name="systemUsername",
        used_by="toolkit/jumpcloud/api.py user_by_username (case-only matches are JcUser too)",
        source=(
            f"{ADMU}: jumpcloud-ADMU/Powershell/Private/JumpCloudFunctions/Test-JumpCloudUsername.ps1 "
            '(POST /api/search/systemusers with fields "username , systemUsername", reads results[0].SystemUsername)'
        ),
    ),
    OffSpec(
        kind="field",
        method="PUT",
        path="/api/systemusers/{id}",
        schema="systemuserput",
        name="systemUsername",
        used_by="toolkit/jumpcloud/fixes.py set_local_account (jcfix fix jc-local-account) and its undo",
        source=_LOCAL_ACCOUNT_SOURCE,
    ),
    OffSpec(
        kind="field",
        method="POST",
        path="/api/commands",
        schema="command",
        name="_id",
        used_by="toolkit/transport/jumpcloud.py (--via jumpcloud): the new command's id, to target, run and delete it",
        source=(
            f"{SUPPORT}: PowerShell/JumpCloud Module/Tests/Public/Commands/New-JCCommand.Tests.ps1 "
            "(Remove-JCCommand -CommandID $NewCommand._id after New-JCCommand, which POSTs /api/commands); the "
            "V1 document's commandslist items declare _id, its command (Command_Create's answer) does not"
        ),
    ),
    OffSpec(
        kind="type",
        method="POST",
        path="/api/systemusers/{id}/state/activate",
        schema="UserState_Activate",
        name="email",
        used_by="toolkit/jumpcloud/api.py activate_user, fix_activate.py (jc-activate --activate-now): email true",
        source=(
            "TheJumpCloud/jcapi-powershell: SwaggerSpecs/JumpCloud.SDK.V1.json, UserState_Activate's own "
            'description: { "email": true } sends the default email, { "email": false } none; its body '
            "schema types email as a string (an address) only"
        ),
        json_type="boolean",
    ),
    OffSpec(
        kind="endpoint",
        method="POST",
        path="/api/systemusers/reactivate",
        schema="",
        name="",
        used_by="toolkit/jumpcloud/api.py send_activation_email (jcfix fix jc-activate: the activation email)",
        source=(
            f"{SUPPORT}: PowerShell/JumpCloud Module/Public/Utilities/Send-JCPasswordReset.ps1 "
            "(POST $JCUrlBasePath/api/systemusers/reactivate, body {isSelectAll: false, models: [{_id}]}); "
            f"{SUPPORT}: scripts/api/v1/systemusers/postResendEmail.sh. The V1 document lists the path "
            "with no operation."
        ),
    ),
)


def off_spec_fields() -> frozenset[tuple[str, str]]:
    """``(schema, name)`` of every undeclared field."""
    return frozenset((entry.schema, entry.name) for entry in OFF_SPEC if entry.kind == "field")


def off_spec_types() -> dict[tuple[str, str], str]:
    """``(schema, name) -> JSON type`` also accepted where the spec's type is narrower."""
    return {(entry.schema, entry.name): entry.json_type for entry in OFF_SPEC if entry.kind == "type"}


def off_spec_endpoints() -> frozenset[tuple[str, str]]:
    """``(method, path template)`` of every undeclared endpoint."""
    return frozenset((entry.method, entry.path) for entry in OFF_SPEC if entry.kind == "endpoint")


__all__ = ["OFF_SPEC", "OffSpec", "off_spec_endpoints", "off_spec_fields", "off_spec_types"]
