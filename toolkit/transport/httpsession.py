"""What jcfix changes in the requests session pypsrp builds for each host: one TLS context per run, and a close
that really closes.

**One SSL context per run.** requests hands urllib3 only the verify/cert settings, so urllib3 builds a fresh
``SSLContext`` for every connection and loads the CA bundle into it (``load_verify_locations`` for a path,
``load_default_certs`` when validation is off): 16% of the client's CPU in a 400-host NTLM/HTTPS profile, and
a certificate store in memory per open session. :func:`share_tls` makes one host's HTTPS adapter hand urllib3
a context built once per process for each distinct (verify, client certificate) pair instead, loaded exactly
as urllib3 would have loaded it, so validation means what it meant: a CA path validates against that bundle
only, ``True`` against requests' default bundle, ``False`` validates nothing.

**Close means close.** urllib3 2's ``PoolManager.clear()`` only forgets its pools: their sockets close when
the pool objects are garbage, and a failed request's response (kept by the exception's traceback, a reference
cycle) keeps its pool alive until a cyclic garbage collection. :func:`close_session` closes every pool first.
"""

from __future__ import annotations

import os
import ssl
import threading
from typing import Any

import requests
from requests.adapters import DEFAULT_CA_BUNDLE_PATH, BaseAdapter, HTTPAdapter
from urllib3.exceptions import SSLError as Urllib3SSLError
from urllib3.util.ssl_ import create_urllib3_context

ClientCert = tuple[str, str] | str | None

_contexts: dict[tuple[bool | str, ClientCert], ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def _no_key_password() -> str:
    # urllib3 refuses an encrypted key rather than let OpenSSL prompt on the terminal; so does this.
    raise ssl.SSLError("Client private key is encrypted, password is required")


def _build_context(verify: bool | str, cert: ClientCert) -> ssl.SSLContext:
    """A context as urllib3 builds one for a connection with these settings (urllib3.connection,
    ``_ssl_wrap_socket_and_match_hostname`` and ``ssl_wrap_socket``), once."""
    context = create_urllib3_context(cert_reqs=ssl.CERT_NONE if verify is False else ssl.CERT_REQUIRED)
    try:
        if verify is not False:
            # requests' cert_verify: True means its default bundle; a directory is a CA path.
            location = DEFAULT_CA_BUNDLE_PATH if verify is True else verify
            if not location or not os.path.exists(location):
                raise OSError(f"Could not find a suitable TLS CA certificate bundle, invalid path: {location}")
            if os.path.isdir(location):
                context.load_verify_locations(capath=location)
            else:
                context.load_verify_locations(cafile=location)
        # verify False: urllib3 would load the system store into a context that checks nothing; skipped.
        if cert:
            certfile, keyfile = cert if isinstance(cert, tuple) else (cert, None)
            context.load_cert_chain(certfile, keyfile, password=_no_key_password)
    except ssl.SSLError as exc:
        # Where urllib3 loads these it raises its own SSLError, which requests wraps: the same words follow.
        raise requests.exceptions.SSLError(Urllib3SSLError(exc)) from exc
    return context


def shared_context(verify: bool | str, cert: ClientCert) -> ssl.SSLContext:
    """The process's one SSL context for these TLS settings (built on first use; failures are not kept)."""
    key = (verify, cert)
    with _contexts_lock:
        context = _contexts.get(key)
        if context is None:
            context = _contexts[key] = _build_context(verify, cert)
        return context


def _cert_reqs(verify: Any) -> str:
    return "CERT_NONE" if verify is False else "CERT_REQUIRED"


def share_tls(adapter: BaseAdapter) -> None:
    """Make ``adapter`` (an ``HTTPAdapter``; others are left alone) connect over HTTPS with the shared context of
    the request's TLS settings.

    The two hooks are replaced on this adapter instance rather than by mounting a subclass, so pypsrp's own
    adapter (its retry settings and its connection wrapping for ``RunspacePool.is_alive``) stays as it is.
    """
    if not isinstance(adapter, HTTPAdapter):
        return
    build_attributes: Any = adapter.build_connection_pool_key_attributes
    cert_verify: Any = adapter.cert_verify

    def pool_key_attributes(request: Any, verify: Any, cert: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = build_attributes(request, verify, cert)
        if host_params.get("scheme") != "https":
            return host_params, pool_kwargs
        # The CA bundle and client certificate are in the context; urllib3 must not load them again.
        return host_params, {"ssl_context": shared_context(verify, cert), "cert_reqs": _cert_reqs(verify)}

    def verify_pool(conn: Any, url: str, verify: Any, cert: Any) -> None:
        if not url.lower().startswith("https"):
            cert_verify(conn, url, verify, cert)
            return
        conn.cert_reqs = _cert_reqs(verify)
        conn.ca_certs = conn.ca_cert_dir = conn.cert_file = conn.key_file = None

    # Replacing the bound methods on this one adapter instance is the point (see the docstring).
    adapter.build_connection_pool_key_attributes = pool_key_attributes  # type: ignore[method-assign,assignment]
    adapter.cert_verify = verify_pool  # type: ignore[method-assign]


def close_session(session: requests.Session) -> None:
    """Close ``session`` and every connection its pools hold now (never waits for a garbage collection)."""
    for adapter in session.adapters.values():
        if isinstance(adapter, HTTPAdapter):
            managers = [adapter.poolmanager, *adapter.proxy_manager.values()]
            for manager in managers:
                for key in list(manager.pools.keys()):
                    pool = manager.pools.get(key)
                    if pool is not None:
                        pool.close()
    session.close()
