"""The lab: simulated Windows hosts that speak real WinRM/PSRP on loopback.

``host`` holds a simulated host's state, ``engine`` runs a received script through its action's
simulation, ``server`` is the WS-Management listener, ``scenarios`` ships the built-in fleets.
"""
