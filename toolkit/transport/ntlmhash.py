"""The NTLM one-way hashes of the run's password, computed once per run instead of once per host.

pyspnego derives the LM and NT hashes from the password for every NTLM context it creates; the LM hash is DES
in pure Python (``spnego._ntlm_raw.des``), about 0.6 ms of CPU per host. pyspnego also takes the two hashes in
place of the password, as ``"LMHASH:NTHASH"`` in hex (``spnego._credential.unify_credentials``), and then uses
them exactly as it would have computed them. :func:`ntlm_password` gives that form, computed once.

Only for ``ntlm`` auth: Negotiate may choose Kerberos, which needs the password itself. The hashes are as
secret as the password (pass-the-hash): they stay in this process's memory, keyed by a digest of the password,
never by the password, and are never logged or written.
"""

from __future__ import annotations

import hashlib
import threading

from spnego._ntlm_raw.crypto import is_ntlm_hash, lmowfv1, ntowfv1

_MAX_ENTRIES = 4  # a run has one password; a few more only in tests
_hashes: dict[bytes, str] = {}
_lock = threading.Lock()


def ntlm_password(password: str) -> str:
    """``password`` in pyspnego's ``LM:NT`` hash form (a password already in that form is returned as it is)."""
    if is_ntlm_hash(password):
        return password
    key = hashlib.sha256(password.encode("utf-8", errors="surrogatepass")).digest()
    with _lock:
        cached = _hashes.get(key)
    if cached is None:
        cached = f"{lmowfv1(password).hex()}:{ntowfv1(password).hex()}"
        with _lock:
            if len(_hashes) >= _MAX_ENTRIES:
                _hashes.clear()
            _hashes[key] = cached
    return cached
