"""The NTLM hash form of the password (toolkit/transport/ntlmhash.py) is as secret as the password itself
(pass-the-hash): no repr, exception text, pickle or copy of jcfix's objects shows it, and its cache neither
holds the password nor a digest of it that a guess could be checked against, nor travels in a worker's report.
"""

from __future__ import annotations

import copy
import hashlib
import pickle

import pytest
from secret_forms import leaks_in, secret_forms

from toolkit.models import HostReport
from toolkit.transport import ntlmhash
from toolkit.transport.base import HostTarget
from toolkit.workers import dumps_report

PASSWORD = "Sentinel-Ntlm-Pw-41c7"
FORMS = secret_forms("password", PASSWORD)


def _shown(text: str | bytes) -> list[str]:
    return leaks_in(text.encode() if isinstance(text, str) else text, FORMS)


def test_the_form_still_is_the_hash_form_pyspnego_takes() -> None:
    form = ntlmhash.ntlm_password(PASSWORD)
    assert form == f"{FORMS['password as LM hex'].decode()}:{FORMS['password as NT hex'].decode()}"
    assert isinstance(form, str) and form.split(":")[1].encode() == FORMS["password as NT hex"]


def test_no_repr_or_exception_text_shows_the_form() -> None:
    form = ntlmhash.ntlm_password(PASSWORD)
    shown = [repr(form), ascii(form), f"{form!r}", repr([form]), repr({"password": form}), repr((form,))]
    try:
        raise ValueError("cannot use", form)
    except ValueError as exc:
        shown += [repr(exc), str(exc)]
    shown += [repr(ntlmhash._hashes), repr(vars(ntlmhash))]
    assert [text for text in shown if _shown(text)] == []


def test_the_form_cannot_be_pickled_and_its_error_does_not_show_it() -> None:
    form = ntlmhash.ntlm_password(PASSWORD)
    for attempt in (lambda: pickle.dumps(form), lambda: pickle.dumps(ntlmhash._hashes)):
        with pytest.raises(TypeError) as caught:
            attempt()
        assert _shown(repr(caught.value)) == []
    assert copy.copy(form) is form and copy.deepcopy({"p": form})["p"] is form  # copies never go through pickle


def test_a_report_that_held_the_form_never_carries_it_to_the_parent() -> None:
    """A worker's pickled report (toolkit.workers): a report holding the form fails to pickle, never leaks it."""
    report = HostReport(HostTarget("h1", address="127.0.0.1", port=5985))
    report.add_note(ntlmhash.ntlm_password(PASSWORD))  # as if a step had kept it
    with pytest.raises(TypeError) as caught:
        dumps_report(1, report)
    assert _shown(repr(caught.value)) == []


def test_the_cache_is_keyed_by_neither_the_password_nor_its_plain_digest() -> None:
    ntlmhash.ntlm_password(PASSWORD)
    keys = list(ntlmhash._hashes)
    assert keys and hashlib.sha256(PASSWORD.encode()).digest() not in keys
    assert [key for key in keys if PASSWORD.encode() in key] == []


def test_a_password_given_in_hash_form_is_protected_too() -> None:
    given = f"{FORMS['password as LM hex'].decode()}:{FORMS['password as NT hex'].decode()}"
    form = ntlmhash.ntlm_password(given)
    assert form == given and _shown(repr(form)) == []
    with pytest.raises(TypeError):
        pickle.dumps(form)
