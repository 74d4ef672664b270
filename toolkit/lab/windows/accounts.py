"""Local accounts (the SAM): RIDs, names, groups, passwords and the password policy.

The account records live here; the Microsoft-account values live where Windows keeps them, in the
registry under ``HKLM\\SAM\\SAM\\Domains\\Account\\Users\\<RID as 8 hex digits>`` (``InternetUserName``,
``InternetUID``, ``InternetSID``, ``InternetProviderGUID``, ``GivenName``, ``Surname``: fact sheet §2, third-party
forensics), readable by SYSTEM only. ``PrincipalSource`` is derived from those values on every read, as
LocalAccounts asks LSA each time (``Sam.cs``: ``LsaLookupUserAccountType``; a connected local account maps to
``MicrosoftAccount``). Whether LSA needs a reboot to notice removed values is UNCONFIRMED (issue 10's
real-Windows list); this model notices at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from toolkit.lab.windows import security as sec
from toolkit.lab.windows.registry import Registry

SAM_USERS = "HKEY_LOCAL_MACHINE\\SAM\\SAM\\Domains\\Account\\Users"
MSA_VALUE_PREFIX = "Internet"


@dataclass
class LocalAccount:
    """One SAM user."""

    rid: int
    name: str
    full_name: str = ""
    enabled: bool = True
    description: str = ""
    last_logon: datetime | None = None
    password: str | None = None
    password_last_set: datetime | None = None
    groups: set[str] = field(default_factory=set)  # group SIDs (Administrators, Users...)


@dataclass
class LocalGroup:
    """One local (BUILTIN) group."""

    sid: str
    name: str
    description: str = ""


BUILTIN_GROUPS = (
    LocalGroup(
        sec.ADMINISTRATORS,
        "Administrators",
        "Administrators have complete and unrestricted access to the computer/domain",
    ),
    LocalGroup(
        sec.USERS,
        "Users",
        "Users are prevented from making accidental or intentional system-wide changes and can run most applications",
    ),
    LocalGroup(sec.GUESTS, "Guests", "Guests have the same access as members of the Users group by default"),
)


@dataclass
class PasswordPolicy:
    """The local password policy (``net accounts`` / secpol): minimum length and complexity."""

    min_length: int = 0
    complexity: bool = False

    def problems(self, account_name: str, password: str) -> list[str]:
        """Why ``password`` breaks the policy (empty: it is accepted).

        Complexity (learn.microsoft.com/windows/security/threat-protection/security-policy-settings/
        password-must-meet-complexity-requirements): not containing the account name (when longer than two
        characters, without case), and characters from three of: upper case, lower case, digits, others.
        """
        found: list[str] = []
        if len(password) < self.min_length:
            found.append(f"shorter than {self.min_length} characters")
        if self.complexity:
            if len(account_name) > 2 and account_name.lower() in password.lower():
                found.append("contains the account name")
            classes = [
                any(c.isupper() for c in password),
                any(c.islower() for c in password),
                any(c.isdigit() for c in password),
                any(not c.isalnum() for c in password),
            ]
            if sum(classes) < 3:
                found.append("fewer than three character classes")
        return found


class Sam:
    """The account database of the machine."""

    def __init__(self, machine_sid: str, registry: Registry) -> None:
        self.machine_sid = machine_sid
        self.registry = registry
        self.accounts: dict[int, LocalAccount] = {}
        self.groups: dict[str, LocalGroup] = {g.sid: g for g in BUILTIN_GROUPS}
        self.policy = PasswordPolicy()

    def sid_of(self, account: LocalAccount) -> str:
        return f"{self.machine_sid}-{account.rid}"

    def add(self, account: LocalAccount) -> None:
        self.accounts[account.rid] = account
        self.registry.seed(self.key_of(account.rid))
        self.registry.seed(f"{SAM_USERS}\\Names\\{account.name}")

    @staticmethod
    def key_of(rid: int) -> str:
        return f"{SAM_USERS}\\{rid:08X}"

    def by_name(self, name: str) -> LocalAccount | None:
        """Windows compares account names without case."""
        wanted = name.lower()
        return next((a for a in self.accounts.values() if a.name.lower() == wanted), None)

    def by_sid(self, sid: str) -> LocalAccount | None:
        prefix, _, rid = sid.rpartition("-")
        if prefix != self.machine_sid or not rid.isdigit():
            return None
        return self.accounts.get(int(rid))

    def ordered(self) -> list[LocalAccount]:
        """Accounts in the order Get-LocalUser lists them (SAM enumeration: by name, without case)."""
        return sorted(self.accounts.values(), key=lambda a: a.name.lower())

    def msa_values(self, account: LocalAccount) -> dict[str, object]:
        key = self.registry.peek(self.key_of(account.rid))
        if key is None:
            return {}
        return {v.name: v.data for v in key.values.values() if v.name.startswith(MSA_VALUE_PREFIX)}

    def principal_source(self, account: LocalAccount) -> str:
        """``Local`` or ``MicrosoftAccount``, from the Internet* values of the account's SAM key."""
        return "MicrosoftAccount" if self.msa_values(account) else "Local"

    def rename(self, account: LocalAccount, new_name: str) -> None:
        """Rename (a case-only rename is allowed: the name is the same account to Windows)."""
        old = account.name
        account.name = new_name
        self.registry.drop(f"{SAM_USERS}\\Names\\{old}")
        self.registry.seed(f"{SAM_USERS}\\Names\\{new_name}")

    def next_rid(self) -> int:
        return max((rid for rid in self.accounts if rid >= 1000), default=999) + 1

    def is_admin(self, account: LocalAccount) -> bool:
        return sec.ADMINISTRATORS in account.groups

    def members(self, group_sid: str) -> list[LocalAccount]:
        return [a for a in self.ordered() if group_sid in a.groups]
