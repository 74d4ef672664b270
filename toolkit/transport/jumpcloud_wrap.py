"""The text of a JumpCloud command that carries one rendered jcfix script and its parameters.

Commands take no parameters, so the wrapper carries them as one base64 JSON blob in a ``ps_literal``
literal (base64 text cannot close a quoted string: safe by construction). The rendered script body is
embedded unchanged as a scriptblock, and a fixed prologue/epilogue decodes the blob and splats it into
the scriptblock. When the agent's PowerShell is 32-bit and lacks LocalAccounts, the epilogue relaunches
64-bit PowerShell through ``sysnative`` (JumpCloud's own pattern, research §1) with a fixed bootstrap
that reads the script and the blob from stdin: no value is ever spliced into code there either.

Wrapper layout (the lab runs it as PowerShell, whole, on its simulated machine)::

    <fixed prologue>
    $JcfixParametersBase64 = '<base64 of the parameters as JSON>'
    $JcfixScript = {
    <the rendered script, unchanged>
    } # end of the jcfix script
    <fixed epilogue>
"""

from __future__ import annotations

import base64
import json
from typing import Any

from toolkit.secrets import Secret
from toolkit.templates import RenderedScript, preview_value, ps_literal
from toolkit.transport.base import TransportError

# Decodes $JcfixParametersBase64 into a hashtable and runs $JcfixScript with it (shared by both bitnesses).
_INVOKE = r"""$JcfixParameters = @{}
$JcfixJson = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($JcfixParametersBase64))
foreach ($JcfixProperty in (ConvertFrom-Json -InputObject $JcfixJson).PSObject.Properties) {
    $JcfixParameters[$JcfixProperty.Name] = $JcfixProperty.Value
}
& $JcfixScript @JcfixParameters
"""

# What 64-bit PowerShell runs after a relaunch: line 1 of stdin is the parameters blob, line 2 the script.
_CHILD = (
    r"""$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$JcfixLines = [System.Console]::In.ReadToEnd() -split "`n"
$JcfixParametersBase64 = $JcfixLines[0].Trim()
$JcfixScriptText = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($JcfixLines[1].Trim()))
$JcfixScript = [System.Management.Automation.ScriptBlock]::Create($JcfixScriptText)
"""
    + _INVOKE
)
# -EncodedCommand takes base64 of UTF-16LE; computed from the fixed text above, so it is fixed too.
_CHILD_ENCODED = base64.b64encode(_CHILD.encode("utf-16-le")).decode("ascii")

PROLOGUE = r"""# jcfix: a jcfix script run through JumpCloud Commands. Everything but the two lines after this
# prologue is fixed text; the parameters travel as base64 JSON, the script body is unchanged.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
$InformationPreference = 'SilentlyContinue'
"""

EPILOGUE = (
    r"""$JcfixNeeds64Bit = [System.Environment]::Is64BitOperatingSystem -and
    -not [System.Environment]::Is64BitProcess -and
    -not (Get-Module -ListAvailable -Name Microsoft.PowerShell.LocalAccounts)
if ($JcfixNeeds64Bit) {
    # 32-bit PowerShell on 64-bit Windows has no LocalAccounts: run 64-bit PowerShell through sysnative.
    $JcfixPowerShell = Join-Path ($PSHOME -replace 'syswow64', 'sysnative') 'powershell.exe'
    $JcfixScriptBytes = [System.Text.Encoding]::UTF8.GetBytes($JcfixScript.ToString())
    $JcfixPayload = $JcfixParametersBase64 + "`n" + [System.Convert]::ToBase64String($JcfixScriptBytes)
    $JcfixPayload | & $JcfixPowerShell -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand `
        """
    + _CHILD_ENCODED
    + r"""
    exit $LASTEXITCODE
}
"""
    + _INVOKE
)
SCRIPT_START = "$JcfixScript = {\n"
SCRIPT_END = "\n} # end of the jcfix script\n"


def encode_parameters(parameters: dict[str, Any]) -> str:
    """The parameters as base64 of their UTF-8 JSON (only ``A-Z a-z 0-9 + / =``)."""
    return base64.b64encode(json.dumps(parameters, ensure_ascii=False).encode("utf-8")).decode("ascii")


def secret_refusal(rendered: RenderedScript) -> str | None:
    """Why ``rendered`` cannot go through JumpCloud Commands (a secret parameter), or None when it can.

    A command's text is stored in JumpCloud and shown in its console, so no secret may travel in it.
    """
    for name, value in rendered.parameters.items():
        if isinstance(value, Secret):
            return (
                f"{rendered.action}: parameter {name} is a secret, and a JumpCloud command's text is stored in "
                "JumpCloud: run this one over WinRM"
            )
    return None


def wrap(rendered: RenderedScript, *, whatif: bool = False) -> str:
    """The command text for ``rendered``: fixed prologue, the parameters literal, the script, fixed epilogue.

    Refuses secret parameters (:func:`secret_refusal`).
    """
    reason = secret_refusal(rendered)
    if reason is not None:
        raise TransportError("script_failed", reason)
    parameters: dict[str, Any] = dict(rendered.parameters)
    if whatif:
        parameters["WhatIf"] = True
    body = rendered.script.rstrip("\n")
    return "".join(
        [
            PROLOGUE,
            f"$JcfixParametersBase64 = {ps_literal(encode_parameters(parameters))}\n",
            SCRIPT_START,
            body,
            SCRIPT_END,
            EPILOGUE,
        ]
    )


def preview(rendered: RenderedScript, whatif: bool) -> str:
    """The exact text of the JumpCloud command that would carry ``rendered`` (values inside as one literal)."""
    try:
        text = wrap(rendered, whatif=whatif)
    except TransportError as exc:  # a secret parameter: this step cannot go through Commands
        return f"# not sendable through JumpCloud Commands: {exc.message}\n"
    parameters = {**rendered.parameters, **({"WhatIf": True} if whatif else {})}
    readable = "\n".join(f"#   -{k} {preview_value(v)}" for k, v in parameters.items() if "\n" not in str(v))
    header = "# the JumpCloud command text (parameters travel base64-encoded inside it):\n"
    return header + (readable + "\n" if readable else "") + text
