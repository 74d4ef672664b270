"""``rename_user`` (``jcfix fix rename``): give a local account the JumpCloud username exactly."""

from __future__ import annotations

from toolkit.actions import Action, Param, Remedy
from toolkit.actions._fixbase import (
    run_id_param,
    user_param,
)
from toolkit.naming import check_new_name

ACTION = Action(
    name="rename_user",
    template="rename_user.ps1.j2",
    version=2,
    summary="Rename a local account to the exact JumpCloud username (spaces, letter case); SID and profile kept.",
    params=(
        user_param(),
        Param(
            "NewName",
            required=True,
            flag=("--to", "--to-jc-user"),
            help="the exact JumpCloud username",
            validate=check_new_name,
        ),
        run_id_param(),
        Param("Force", kind="bool", flag="--force", help="rename even while the user is signed in"),
    ),
    result_model="toolkit.actions._data:FixData",
    changes_state=True,
    undo_kinds=("rename",),
    remedies=(
        Remedy(
            findings=("CASE_MISMATCH", "FULLNAME_ONLY_MATCH", "USERNAME_HAS_SPACE"),
            params={"UserName": "{{ item.evidence.local_username }}", "NewName": "{{ item.subject }}"},
            severity="blocker",
            step="Rename to the JumpCloud username",
            order=10,
        ),
    ),
    command="rename",
)
