"""Scheduled tasks as the Task Scheduler keeps them: actions, triggers, principal, settings, run history.

Defaults follow the Task Scheduler schema (learn.microsoft.com/windows/win32/taskschd/task-scheduler-schema):
``DisallowStartIfOnBatteries`` and ``StopIfGoingOnBatteries`` are true unless settings say otherwise
(.../taskschedulerschema-disallowstartifonbatteries-settingstype-element, fact sheet §8), the execution
time limit is 72 hours, ``MultipleInstancesPolicy`` is IgnoreNew. A logon trigger fires at every logon of
its user (or of any user without one) between its start and end boundaries (New-ScheduledTaskTrigger docs,
fact sheet §8); the task stays registered until it is deleted, or until ``DeleteExpiredTaskAfter`` has passed
after its last trigger's end boundary (.../taskschedulerschema-deleteexpiredtaskafter-settingstype-element).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

# Task Scheduler result codes (learn.microsoft.com/windows/win32/taskschd/task-scheduler-error-and-success-constants).
SCHED_S_TASK_HAS_NOT_RUN = 0x41303
SCHED_S_TASK_RUNNING = 0x41301
# What Last Run Result shows when a start is refused (on battery with DisallowStartIfOnBatteries): the
# value 0x800710E0 ("The operator or administrator has refused the request") is what community reports
# show for this case; UNCONFIRMED by a Microsoft page.
ERROR_REQUEST_REFUSED = 0x800710E0


@dataclass
class TaskAction:
    """An Exec action."""

    execute: str
    arguments: str = ""
    working_directory: str | None = None


@dataclass
class TaskTrigger:
    """A trigger: ``logon``, ``once``, ``startup`` or ``daily``."""

    kind: str
    user_id: str | None = None
    enabled: bool = True
    start_boundary: str | None = None
    end_boundary: str | None = None
    at: str | None = None  # for once/daily
    delay: str | None = None  # a logon trigger's Delay (``PT15M``): the task starts that long after the logon


@dataclass
class TaskPrincipal:
    """Who the task runs as."""

    user_id: str | None = None
    group_id: str | None = None
    logon_type: str = "Interactive"
    run_level: str = "Limited"


@dataclass
class TaskSettings:
    """The settings block (``New-ScheduledTaskSettingsSet``)."""

    disallow_start_if_on_batteries: bool = True
    stop_if_going_on_batteries: bool = True
    execution_time_limit: str = "PT72H"
    delete_expired_task_after: str | None = None
    enabled: bool = True
    multiple_instances: str = "IgnoreNew"
    hidden: bool = False


@dataclass
class ScheduledTask:
    """A registered task."""

    path: str
    name: str
    actions: list[TaskAction]
    triggers: list[TaskTrigger] = field(default_factory=list)
    principal: TaskPrincipal = field(default_factory=TaskPrincipal)
    settings: TaskSettings = field(default_factory=TaskSettings)
    description: str = ""
    author: str = ""
    state: str = "Ready"
    last_run_time: datetime | None = None
    last_task_result: int = SCHED_S_TASK_HAS_NOT_RUN
    run_count: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return normalize_task_path(self.path).lower(), self.name.lower()


def normalize_task_path(path: str | None) -> str:
    """``jcfix`` / ``\\jcfix`` / ``\\jcfix\\`` -> ``\\jcfix\\``; empty -> ``\\``."""
    text = (path or "\\").replace("/", "\\")
    if not text.startswith("\\"):
        text = "\\" + text
    if not text.endswith("\\"):
        text += "\\"
    return text


_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$", re.IGNORECASE)


def parse_duration(text: str) -> timedelta:
    """An XML schema duration as the Task Scheduler writes them (``PT5M``, ``P1D``, ``PT0S``)."""
    match = _DURATION.match(text.strip())
    if not match or text.strip().upper() in ("P", "PT"):
        raise ValueError(f"not a duration: {text!r}")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """A timedelta as the Task Scheduler writes it (``PT5M``; ``PT0S`` for zero)."""
    total = int(delta.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    out = "P" + (f"{days}D" if days else "")
    time = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{seconds}S" if seconds else "")
    if time or not days:
        out += "T" + (time or "0S")
    return out


def parse_boundary(text: str) -> datetime:
    """A trigger boundary (``2026-11-30T13:00:00`` local, or with ``Z``/an offset); the lab's local time is UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def trigger_active(trigger: TaskTrigger, now: datetime) -> bool:
    """Whether a trigger may fire now (enabled, and within its start and end boundaries)."""
    if not trigger.enabled:
        return False
    if trigger.start_boundary and now < parse_boundary(trigger.start_boundary):
        return False
    return not (trigger.end_boundary and now > parse_boundary(trigger.end_boundary))


def expired_for_deletion(task: ScheduledTask, now: datetime) -> bool:
    """Whether the Task Scheduler deletes ``task`` now: DeleteExpiredTaskAfter set, and every trigger's end
    boundary plus that delay has passed (a trigger without an end boundary never expires)."""
    if task.settings.delete_expired_task_after is None or not task.triggers:
        return False
    delay = parse_duration(task.settings.delete_expired_task_after)
    for trigger in task.triggers:
        if not trigger.end_boundary or now < parse_boundary(trigger.end_boundary) + delay:
            return False
    return True


def split_arguments(text: str) -> list[str]:
    """A command line's arguments as CommandLineToArgvW splits them (quotes group, backslash-quote escapes)."""
    args: list[str] = []
    current: list[str] = []
    quoted = False
    started = False
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            run = 0
            while index < len(text) and text[index] == "\\":
                run += 1
                index += 1
            if index < len(text) and text[index] == '"':
                current.append("\\" * (run // 2))
                if run % 2:
                    current.append('"')
                    index += 1
                started = True
                continue
            current.append("\\" * run)
            started = True
            continue
        if char == '"':
            quoted = not quoted
            started = True
        elif char in " \t" and not quoted:
            if started:
                args.append("".join(current))
                current, started = [], False
        else:
            current.append(char)
            started = True
        index += 1
    if started:
        args.append("".join(current))
    return args
