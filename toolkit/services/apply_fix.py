"""A fix's input, completed from its declaration: the run id when it declares one, and its secrets.

``jcfix fix NAME`` passes what the admin typed; :func:`fix_values` checks it (before any secret is asked
for), adds the run's id only to an action that declares ``RunId`` (a read-only action with ``command=``
gets none), and fills in each secret the declaration needs from ``read_secret``. The run itself is
:func:`toolkit.services.run_action.run_planned`, like every other action.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from toolkit.actions import RUN_ID_PARAM, Action
from toolkit.errors import UsageError
from toolkit.models import HostReport
from toolkit.secrets import Secret
from toolkit.settings import ConnectionSettings

SecretReader = Callable[[str, str], Secret]  # (environment variable, prompt) -> the secret
USER_PARAM = "UserName"  # the local account a fix acts on (toolkit.actions._fixbase.user_param, --user)


@dataclass(frozen=True)
class FixInput:
    """A fix's checked parameter values, the run's id, and the warnings to show before anything connects."""

    values: dict[str, Any]
    run_id: str
    warnings: tuple[str, ...]


def fix_values(
    action: Action, given: Mapping[str, Any], *, run_id: str | None, read_secret: SecretReader | None
) -> FixInput:
    """Check ``given`` against ``action``'s declaration and complete it (run id, secrets).

    ``read_secret`` None: a dry run, where a secret shows as ``******`` and is never asked for.
    """
    from toolkit.actions._fixbase import new_run_id

    values = {k: v for k, v in given.items() if v is not None}
    rid = run_id or new_run_id()
    if action.needs_run_id:  # declared by the action's parameters, never assumed
        values[RUN_ID_PARAM] = rid
    action.bind(values, secrets=False)  # bad input stops here, before a secret is asked for
    for param in action.params:
        if not param.secret or not param.needed(values):
            continue
        if param.env is None:
            raise UsageError(f"{action.name}: secret {param.name} declares no environment variable")
        values[param.name] = Secret("") if read_secret is None else read_secret(param.env, param.help or param.name)
    warnings = tuple(p.warning for p in action.params if p.flags and p.warning and values.get(p.name))
    return FixInput(values, rid, warnings)


def _account_of(report: HostReport) -> str | None:
    """The account a fix was asked to act on, from the host's own step (None: the fix names none)."""
    if not report.results:
        return None
    step, _ = report.results[0]
    value = step.rendered.parameters.get(USER_PARAM)
    return value if isinstance(value, str) else None


def nearest_names(wanted: str, names: Sequence[str], limit: int = 3) -> list[str]:
    """Of ``names``, the ones closest to ``wanted`` compared case-folded, closest first ("did you mean")."""
    import difflib

    folded: dict[str, str] = {}
    for name in names:
        folded.setdefault(name.casefold(), name)
    close = difflib.get_close_matches(wanted.casefold(), list(folded), n=limit, cutoff=0.6)
    return [folded[c] for c in close]


class MissingAccountReview:
    """Hosts without the account a fix names are ``skipped``, not failed (issue 13 item 9).

    Held: a fix that refused before reading any account (failed, unchanged, ``invalid_input``, no SID and
    no ``before`` in its data). A refusal of that shape is also how a host turns down an untrusted jcfix
    folder, so the decision is made from the host's account list (``list_users``, read-only), read only
    for the held hosts: a host lacks the account when no local account has that name (case-insensitively,
    as Windows compares them). Those hosts are skipped when the fix found the account on some other host
    of the run; when no host had it (a typo, or the wrong hosts) they stay failures. Either way the reason
    names the nearest local usernames ("did you mean").
    """

    def held(self, report: HostReport) -> bool:
        """Whether ``report`` is a fix that refused before finding its account."""
        if len(report.results) != 1 or _account_of(report) is None:
            return False
        _, result = report.results[0]
        data = result.data_dict() or {}
        return (
            result.status == "failed"
            and not result.changed
            and result.error is not None
            and result.error.category == "invalid_input"
            and data.get("sid") is None
            and data.get("before") is None
        )

    def decide(
        self, held: list[HostReport], others: list[HostReport], settings: ConnectionSettings, forks: int
    ) -> dict[str, str]:
        """Read the held hosts' local accounts; skip those without the account if another host had it."""
        missing = _missing_accounts(held, settings, forks)
        if not any(_found_account(report) for report in others):
            for report in held:  # nobody had it: failures, with the nearest names beside the host's refusal
                if report.target.name in missing:
                    _add_hint(report, missing[report.target.name][1])
            return {}
        return {name: f"no local account {wanted!r} on this host{hint}" for name, (wanted, hint) in missing.items()}


def _found_account(report: HostReport) -> bool:
    """Whether the fix found its account on this host (its data names the account's SID)."""
    return any((result.data_dict() or {}).get("sid") for _, result in report.results)


def _add_hint(report: HostReport, hint: str) -> None:
    """Append ``hint`` to the message of the host's failed step (the host's own words come first)."""
    if not hint:
        return
    step, result = report.results[0]
    if result.error is not None:
        error = result.error.model_copy(update={"message": result.error.message + hint})
        report.results[0] = (step, result.model_copy(update={"error": error}))


def _missing_accounts(
    reports: list[HostReport], settings: ConnectionSettings, forks: int
) -> dict[str, tuple[str, str]]:
    """The hosts whose own account list lacks the fix's account: host -> (account, " (did you mean ...?)")."""
    from toolkit.actions import get_action
    from toolkit.actions.list_users import ListUsersData
    from toolkit.models import Step
    from toolkit.runner import run_fleet

    action = get_action("list_users")
    step = Step(action, action.render({}))
    wanted_on = {r.target.name: _account_of(r) for r in reports}
    missing: dict[str, tuple[str, str]] = {}
    for listed in run_fleet([(r.target, [step]) for r in reports], settings, forks=forks):
        data = listed.results[0][1].data if listed.results else None
        wanted = wanted_on.get(listed.target.name)
        if not isinstance(data, ListUsersData) or wanted is None:
            continue  # the accounts could not be read: the refusal stands as a failure
        names = [user.name for user in data.users]
        if any(name.casefold() == wanted.casefold() for name in names):
            continue  # the account is there: the host refused for another reason
        near = nearest_names(wanted, names)
        missing[listed.target.name] = (wanted, f" (did you mean {', '.join(near)}?)" if near else "")
    return missing
