"""Rule PS51-CDXML-ERRORACTION: a command of a CDXML module (ScheduledTasks, NetSecurity, Storage, ...) without
-ErrorAction: module functions do not see the script's $ErrorActionPreference."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .tree import Node, Script, params, snippet

# Fact sheet §8: ScheduledTasks (and the other CDXML modules: NetSecurity, NetTCPIP, NetAdapter, NetConnection,
# SmbShare, Storage, Defender, DnsClient, PnpDevice) are module functions: they do not see a caller's
# script-scope $ErrorActionPreference (PowerShell/PowerShell#4568, #24389 for Get-NetIPAddress), so each call
# passes -ErrorAction explicitly.
CDXML_RE = re.compile(
    r"^[a-z]+-(clustered)?scheduledtask(action|principal|settingsset|trigger|info)?$"
    r"|^[a-z]+-net(firewall|ipsec|adapter|connectionprofile|ipaddress|ipinterface|ipconfiguration|route"
    r"|tcpconnection|udpendpoint|neighbor)\w*$|^[a-z]+-smb(share|session|openfile|connection|mapping)\w*$"
    r"|^[a-z]+-(disk|volume|partition|physicaldisk|storagepool|virtualdisk)$|^[a-z]+-mp(preference|computerstatus"
    r"|threat\w*|scan|signature)$|^[a-z]+-dnsclient\w*$|^[a-z]+-pnpdevice\w*$"
)


def rule_cdxml_erroraction(script: Script) -> Iterator[tuple[Node, str]]:
    """Flag CDXML module commands called without -ErrorAction."""
    for cmd, name in script.commands():
        if CDXML_RE.match(name) and "-erroraction" not in params(script, cmd):
            yield (
                cmd,
                f"'{snippet(script, cmd)}' (CDXML) ignores the script's $ErrorActionPreference: pass -ErrorAction",
            )
