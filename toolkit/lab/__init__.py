"""The lab: simulated Windows hosts that speak real WinRM/PSRP on loopback.

``host`` describes a simulated host, ``hostmachine`` builds its Windows machine (``windows``) on first use,
``engine`` runs a received pipeline's PowerShell on that machine (``powershell``), ``events`` are what
happens between two scripts, ``readback`` reads a machine's state for tests, ``server`` is the
WS-Management listener, ``scenarios`` ships the built-in fleets.
"""
