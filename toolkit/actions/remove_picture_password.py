"""``remove_picture_password`` (``jcfix fix remove-picture-password``): drop one user's picture password."""

from __future__ import annotations

from toolkit.actions import Action, Param, Remedy
from toolkit.actions._fixbase import (
    run_id_param,
    user_param,
)

POLICY_NAME = "BlockDomainPicturePassword"
# What --block-reenroll does and does not do, in the plan, the notes and --help (issue 10, defect 10).
BLOCK_PLAN = (
    f"set policy {POLICY_NAME} = 1 (Microsoft words it for domain users; whether it stops local or "
    "Microsoft-account users from setting a picture password again is UNCONFIRMED)"
)
BLOCK_NOTE = (
    f"{POLICY_NAME} is worded for domain users; for local and Microsoft-account users it may not stop a new "
    "picture password (UNCONFIRMED): run jcfix diagnose again later"
)
BLOCK_HELP = (
    f"also set {POLICY_NAME}=1 (blocks picture-password sign-in for domain users; for local and "
    "Microsoft-account users its effect is unconfirmed)"
)


ACTION = Action(
    name="remove_picture_password",
    template="remove_picture_password.ps1.j2",
    version=2,
    summary="Remove a user's picture-password registration (backed up); optionally block re-enrolment.",
    params=(
        user_param(),
        run_id_param(),
        Param("BlockReenroll", kind="bool", flag="--block-reenroll", help=BLOCK_HELP),
    ),
    result_model="toolkit.actions._data:FixData",
    changes_state=True,
    undo_kinds=("registry", "policy"),
    remedies=(
        Remedy(
            findings=("PICTURE_PASSWORD_SET",),
            params={"UserName": "{{ item.evidence.local_username }}"},
            step="Remove the picture password",
            order=30,
        ),
    ),
    command="remove-picture-password",
)
