"""``remove_pin`` (``jcfix fix remove-pin``): remove a user's Windows Hello PIN (gone at the sign-out after sign-in)."""

from __future__ import annotations

from toolkit.actions import Action, Param, Remedy
from toolkit.actions._fixbase import (
    run_id_param,
    user_param,
)

POLICY_NAME = "AllowDomainPINLogon"
DEFAULT_EXPIRE_DAYS = 14
# What --block-reenroll does and does not do, in the plan, the notes and --help (issue 10, defect 10).
BLOCK_PLAN = (
    f"set policy {POLICY_NAME} = 0 (Microsoft words it for domain users; whether it stops local or "
    "Microsoft-account users from setting up a PIN again is UNCONFIRMED)"
)
BLOCK_NOTE = (
    f"{POLICY_NAME} is worded for domain users; for local and Microsoft-account users it may not stop a new PIN "
    "(UNCONFIRMED): run jcfix diagnose again later"
)
BLOCK_HELP = (
    f"also set {POLICY_NAME}=0 (blocks convenience PIN sign-in for domain users; for local and Microsoft-account "
    "users its effect is unconfirmed)"
)


def _check_expire_days(value: int) -> None:
    if not 1 <= value <= 365:
        raise ValueError("must be between 1 and 365")


ACTION = Action(
    name="remove_pin",
    template="remove_pin.ps1.j2",
    version=2,
    summary="Remove a user's Windows Hello PIN: a one-shot task at next sign-in, gone at sign-out (pending till then).",
    params=(
        user_param(),
        run_id_param(),
        Param(
            "AllUsersNow",
            kind="bool",
            flag="--all-users-now",
            help="wipe every user's PIN now (not undoable)",
            warning="--all-users-now deletes the Windows Hello PIN and credentials of EVERY user on the device, "
            "and cannot be undone",
        ),
        Param("BlockReenroll", kind="bool", flag="--block-reenroll", help=BLOCK_HELP),
        Param(
            "ExpireDays",
            kind="int",
            help=f"days after which the sign-in tasks expire unused (1-365, default {DEFAULT_EXPIRE_DAYS})",
            validate=_check_expire_days,
        ),
    ),
    result_model="toolkit.actions._data:FixData",
    changes_state=True,
    undo_kinds=("ngc_wipe", "task", "policy"),
    remedies=(
        Remedy(
            findings=("HELLO_PIN_SET",),
            params={"UserName": "{{ item.evidence.local_username }}"},
            step="Remove the Windows Hello PIN",
            order=20,
        ),
    ),
    command="remove-pin",
)
