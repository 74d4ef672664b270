"""The NTLM one-way hashes of the run's password, computed once per process instead of once per host.

pyspnego derives the LM and NT hashes from the password for every NTLM context it creates; the LM hash is DES
in pure Python (``spnego._ntlm_raw.des``), about 0.6 ms of CPU per host. pyspnego also takes the two hashes in
place of the password, as ``"LMHASH:NTHASH"`` in hex (``spnego._credential.unify_credentials``), and then uses
them exactly as it would have computed them. :func:`ntlm_password` gives that form, computed once (in each
worker process of a large run, which forks before its first host connects).

Only for ``ntlm`` auth: Negotiate may choose Kerberos, which needs the password itself. The hashes are as
secret as the password (pass-the-hash): they stay in this process's memory, keyed by an HMAC of the password under
a key random to the process (never the password, nor a digest anyone could recompute from a guess), and are never
logged or written: the form is a :class:`NtlmHashForm`, whose repr is redacted and which cannot be pickled (a
copy is the same object), so no repr, pickled report or cache snapshot carries it. Its ``str`` is the value
pyspnego needs: code that formats it with ``{}``/``%s`` would still show it (the sweep in
``tests/hardening/test_secret_sweep.py`` looks for that).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from typing import Any, NoReturn, SupportsIndex

from spnego._ntlm_raw.crypto import is_ntlm_hash, lmowfv1, ntowfv1

_MAX_ENTRIES = 4  # a run has one password; a few more only in tests
_KEY = os.urandom(32)  # the cache's keys are HMACs under it: a key found in memory does not test a guessed password
_hashes: dict[bytes, NtlmHashForm] = {}
_lock = threading.Lock()


class NtlmHashForm(str):
    """A password's ``LM:NT`` hash form: a str to pyspnego, but redacted in its repr, never pickled nor copied."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NtlmHashForm(<redacted>)"

    def __reduce_ex__(self, protocol: SupportsIndex) -> NoReturn:
        # A report, a worker's message or a cache snapshot that held the form fails to pickle rather than carry it.
        raise TypeError("the NTLM hash form of a password is never pickled")

    def __copy__(self) -> NtlmHashForm:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> NtlmHashForm:
        return self  # immutable: a deep copy (pypsrp's, a model's) is the same object, not a pickle round trip


def ntlm_password(password: str) -> NtlmHashForm:
    """``password`` in pyspnego's ``LM:NT`` hash form (a password already in that form is returned as it is)."""
    if is_ntlm_hash(password):
        return NtlmHashForm(password)
    key = hmac.new(_KEY, password.encode("utf-8", errors="surrogatepass"), hashlib.sha256).digest()
    with _lock:
        cached = _hashes.get(key)
    if cached is None:
        cached = NtlmHashForm(f"{lmowfv1(password).hex()}:{ntowfv1(password).hex()}")
        with _lock:
            if len(_hashes) >= _MAX_ENTRIES:
                _hashes.clear()
            _hashes[key] = cached
    return cached
