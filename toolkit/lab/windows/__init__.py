"""The lab's simulated Windows machine: the ``Machine`` side of ``toolkit.lab.powershell.contract``.

``build.build_machine(host)`` turns a scenario host into a :class:`machine.WindowsMachine`: the WinRM
session's PowerShell process (its token, its bitness) over a :class:`state.WindowsState` holding accounts
(SAM), the registry with its WOW64 views, the file system with owners and DACLs, processes and sessions,
profiles, services, scheduled tasks, Windows Hello containers and the JumpCloud agent's files. The engine
finds the commands in ``machine.commands()`` (modules ``cmdlets_*``), the .NET members in ``dotnet``, the
native programs in ``natives``/``regexe``. Events between scripts (sign-in, sign-out, PIN re-enrolment,
agent sync, battery, time) are methods of the machine. Each behaviour cites its source in its module.
"""
