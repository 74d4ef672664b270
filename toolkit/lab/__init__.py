"""The lab: simulated Windows hosts that speak real WinRM/PSRP on loopback.

``host`` describes a simulated host, ``hostmachine`` builds its Windows machine (``windows``) on first use,
``engine`` runs a received pipeline's PowerShell on that machine (``powershell``), ``events`` are what
happens between two scripts, ``readback`` reads a machine's state for tests. ``server`` binds one
WS-Management ``listener`` per host (HTTP in ``httpconn``, auth in ``auth``, WSMan in ``wsman``, PSRP in
``psrp``); ``fleet`` runs a server in a background thread. ``jcapi`` is the JumpCloud API stand-in (its
routes in ``jcroutes``) over the organisation in ``jcdirectory``, whose devices' agents run Commands
(``jcagent``). ``scenarios`` ships the built-in fleets.
"""
