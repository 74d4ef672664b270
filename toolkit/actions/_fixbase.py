"""What every fix declaration shares: the run id, the user parameter and the result data shape."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from toolkit.actions import Param

RUN_ID_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def new_run_id() -> str:
    """A run id that sorts by time and cannot collide in practice: ``20261126T222435Z-3f9a1c``."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def _check_run_id(value: str) -> None:
    if not RUN_ID_RE.match(value):
        raise ValueError("must be 1-64 letters, digits or dashes")


def run_id_param() -> Param:
    """The ``RunId`` parameter: names the backup folder on the host and the run in history."""
    return Param("RunId", required=True, validate=_check_run_id, help="run id (names the backup folder)")


class FixData(BaseModel):
    """What a fix read, planned, saved and read back; the same shape for every fix.

    ``before`` and ``after`` are read from the host (``after`` after the change, never assumed);
    ``check_mode`` is true under ``-WhatIf``, where ``planned`` says what would change.
    """

    model_config = ConfigDict(extra="forbid")

    user: str
    sid: str | None
    check_mode: bool
    planned: list[str]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    backups: list[str]
    notes: list[str] = Field(default_factory=list)


def _check_user(value: str) -> None:
    if not value.strip():
        raise ValueError("must name an account")


def user_param() -> Param:
    """The ``UserName`` parameter (``--user``): the local account a fix acts on."""
    return Param("UserName", required=True, flag="--user", help="the local account's username", validate=_check_user)
