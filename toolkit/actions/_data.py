"""The pydantic models of the shipped actions' result data, imported when a result is parsed."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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


class LocalUser(BaseModel):
    """One local account, as the host reports it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    full_name: str
    sid: str
    enabled: bool
    principal_source: str
    last_logon: str | None
    profile_path: str | None
    profile_loaded: bool
    description: str


class ListUsersData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    computer_name: str
    source: Literal["Get-LocalUser", "Win32_UserAccount"]
    users: list[LocalUser]


class UndoData(BaseModel):
    """What an undo restored, found already restored, could not restore, and failed on (each in one line)."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    check_mode: bool
    restored: list[str]
    already: list[str]
    cannot: list[str]
    failed: list[str] = Field(default_factory=list)
    undone_before: str | None
