"""The lab's fixed settings, in a module that imports nothing: the CLI reads them at start-up without
loading the lab's protocol stack (asyncio server, psrpcore, pyspnego)."""

from __future__ import annotations

LAB_USERNAME = "labadmin"
LAB_PASSWORD = "Lab-Passw0rd!"  # a public lab constant, not a secret: the lab only listens on loopback
AUTH_MODES = ("basic", "ntlm")
ADDRESSING_MODES = ("ports", "addresses")
DEFAULT_BASE_ADDRESS = "127.0.10.1"
# The lab's event channel (see toolkit.lab.listener.LabListener._control); WinRM clients only use /wsman.
CONTROL_PATH = "/jcfix-lab/events"
