"""``convert_msa`` (``jcfix fix convert-msa``): from Microsoft-account-linked to a plain local account."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toolkit.actions import Action, Param, Remedy
from toolkit.actions._fixbase import (
    run_id_param,
    user_param,
)

METHODS = ("guided", "unlink")


def _check_method(value: str) -> None:
    if value not in METHODS:
        raise ValueError(f"must be one of {', '.join(METHODS)}")


def _unlinking(values: Mapping[str, Any]) -> bool:
    return values.get("Method") == "unlink"


def _preflight(values: Mapping[str, Any]) -> None:
    if _unlinking(values) and not values.get("AcceptDataLoss"):
        raise ValueError(
            "--method unlink can lose the user's saved credentials, DPAPI-protected data and EFS files: "
            "give --accept-data-loss to go ahead"
        )


ACTION = Action(
    name="convert_msa",
    template="convert_msa.ps1.j2",
    version=2,
    summary="Convert a Microsoft-account-linked account to local: guided steps (default) or unlink as SYSTEM.",
    params=(
        user_param(),
        run_id_param(),
        Param("Method", flag="--method", default="guided", help="guided (default) or unlink", validate=_check_method),
        Param("AcceptDataLoss", kind="bool", flag="--accept-data-loss", help="required with --method unlink"),
        Param(
            "NewPassword",
            kind="secret",
            env="JCFIX_NEW_PASSWORD",
            help="new local password (from JCFIX_NEW_PASSWORD, the keyring or a prompt)",
            required_when=_unlinking,
        ),
    ),
    result_model="toolkit.actions._data:FixData",
    changes_state=True,
    undo_kinds=("msa_unlink",),
    remedies=(
        Remedy(
            findings=("MSA_LINKED",),
            params={"UserName": "{{ item.evidence.local_username }}", "Method": "guided"},
            step="Convert the Microsoft-account link (guided)",
            order=40,
        ),
    ),
    command="convert-msa",
    preflight=_preflight,
)
