"""A small JumpCloud REST API client (httpx): the key, the region, paging, retries and clear errors.

The API key is a :class:`~toolkit.secrets.Secret` read from ``JCFIX_JC_API_KEY`` or the OS keyring
(service ``jcfix``, user ``JCFIX_JC_API_KEY``), never from a command-line flag. It is revealed only when
the ``x-api-key`` header is built; the client's ``repr``, its errors and its log lines never carry it,
and any text the API sends back is scrubbed of it before it reaches a message.

Facts (research §6): hosts per region, ``/api/`` (v1) and ``/api/v2/`` base paths, ``x-api-key`` and
``x-org-id`` headers, ``limit``/``skip`` paging with ``{totalCount, results}`` on v1 lists; v2 lists
are bare arrays (the spec declares no ``X-Total-Count``: a short page ends them), 429 among the
documented codes (retry with backoff).
"""

from __future__ import annotations

import email.utils
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from toolkit.errors import JcfixError
from toolkit.secrets import REDACTED, Secret

log = logging.getLogger(__name__)

API_KEY_ENV = "JCFIX_JC_API_KEY"
ORG_ID_ENV = "JCFIX_JC_ORG_ID"
URL_ENV = "JCFIX_JC_URL"
REGION_ENV = "JCFIX_JC_REGION"
REGION_URLS = {
    "us": "https://console.jumpcloud.com",
    "eu": "https://console.eu.jumpcloud.com",
    "in": "https://console.in.jumpcloud.com",
}
PAGE_SIZE = 100  # "Limited to 100" on most lists (research §6)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ORG_ID_PATTERN = re.compile(r"^[0-9a-fA-F]{24}$")
OBJECT_ID_IN_PATH = re.compile(r"/[0-9a-fA-F]{24}(/|$)")


def _names_an_object(path: str) -> bool:
    """Whether ``path`` names one object by id: a 404 there is that object; elsewhere, the organisation."""
    return OBJECT_ID_IN_PATH.search(path) is not None


class JumpCloudError(JcfixError):
    """A JumpCloud API call failed; the message is one line an admin can act on.

    Attributes:
        status: the HTTP status, or None when no answer came (timeout, refused).
        kind: ``auth`` (401), ``forbidden`` (403), ``not_found`` (404), ``unreachable`` or ``api``.
    """

    exit_code = 3

    def __init__(self, message: str, *, status: int | None = None, kind: str = "api") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind
        if kind == "unreachable":
            self.exit_code = 4
        elif kind == "usage":
            self.exit_code = 2


@dataclass(frozen=True)
class JumpCloudConfig:
    """Where the API is and how to call it.

    Attributes:
        base_url: ``https://console.jumpcloud.com`` or a region's host, or the lab's loopback URL.
        api_key: the admin's API key (a :class:`Secret`).
        org_id: sent as ``x-org-id`` (needed by multi-tenant admins), or None.
        timeout: seconds for one HTTP request (connect and read).
        retries: extra attempts after a 429, a 5xx or a timeout.
        backoff_s: the first wait between attempts; it doubles each time.
        max_wait_s: the longest single wait, whatever ``Retry-After`` asks for.
    """

    base_url: str
    api_key: Secret = field(repr=False)
    org_id: str | None = None
    timeout: float = 30.0
    retries: int = 4
    backoff_s: float = 0.5
    max_wait_s: float = 60.0

    def __repr__(self) -> str:
        return f"JumpCloudConfig(base_url={self.base_url!r}, org_id={self.org_id!r})"


def find_api_key(environ: Mapping[str, str] | None = None) -> Secret | None:
    """The API key from ``JCFIX_JC_API_KEY`` or the keyring, without prompting; None when neither has one."""
    from toolkit.settings import _keyring_password

    environ = os.environ if environ is None else environ
    if environ.get(API_KEY_ENV):
        return Secret(environ[API_KEY_ENV])
    stored = _keyring_password(API_KEY_ENV)
    return Secret(stored) if stored else None


def base_url_for(region: str | None, url: str | None) -> str:
    """An explicit URL wins (the lab); else the region's console host (default US)."""
    if url:
        text = url.rstrip("/")
        if not text.startswith(("http://", "https://")):
            raise JumpCloudError(f"{URL_ENV} must start with http:// or https://, not {url!r}", kind="usage")
        return text
    key = (region or "us").strip().lower()
    if key not in REGION_URLS:
        raise JumpCloudError(f"JumpCloud region must be one of {', '.join(REGION_URLS)}, not {region!r}", kind="usage")
    return REGION_URLS[key]


def load_config(
    *,
    org_id: str | None = None,
    region: str | None = None,
    environ: Mapping[str, str] | None = None,
    prompt: bool = False,
) -> JumpCloudConfig:
    """The API settings from the environment (flags given here win); raises when no key is found."""
    environ = os.environ if environ is None else environ
    key = find_api_key(environ)
    if key is None and prompt:
        from toolkit.settings import read_secret

        key = read_secret(API_KEY_ENV, "JumpCloud API key", environ=environ)
    if key is None:
        raise JumpCloudError(
            f"no JumpCloud API key: set {API_KEY_ENV} or store it in the keyring (service jcfix, user {API_KEY_ENV})",
            kind="usage",
        )
    # given but empty (--jc-org-id '') is a mistake to say, not "no organisation"
    org = org_id if org_id is not None else environ.get(ORG_ID_ENV) or None
    if org is not None and not ORG_ID_PATTERN.match(org):
        # JumpCloud would answer 400 to every call (V1 spec, "Multi-Tenant Portal Headers"): say it now.
        raise JumpCloudError(
            f"JumpCloud organisation ID must be 24 hex characters (--jc-org-id / {ORG_ID_ENV}), not {org!r}",
            kind="usage",
        )
    return JumpCloudConfig(
        base_url=base_url_for(region or environ.get(REGION_ENV), environ.get(URL_ENV)),
        api_key=key,
        org_id=org,
    )


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class JumpCloudClient:
    """Calls the API with retries; one instance per thread of work, closed after use.

    Args:
        config: where and how to call.
        transport: an httpx transport (tests); None uses the network.
        sleep: how to wait between retries (tests pass a recorder).
    """

    def __init__(
        self,
        config: JumpCloudConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._sleep = sleep
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if config.org_id:
            headers["x-org-id"] = config.org_id
        self._http = httpx.Client(
            base_url=config.base_url,
            headers=headers,
            timeout=httpx.Timeout(config.timeout),
            transport=transport,
            follow_redirects=False,
            trust_env=False,  # no proxy variables: the key goes only where base_url says
        )

    def __repr__(self) -> str:
        return f"JumpCloudClient({self.config.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JumpCloudClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- HTTP ------------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        key = self.config.api_key.reveal()
        return text.replace(key, REDACTED) if key else text

    def _error(self, method: str, path: str, response: httpx.Response) -> JumpCloudError:
        """One actionable line per status; with ``x-org-id`` in play, the V1 spec's "Multi-Tenant Portal
        Headers" codes: 401 = no x-org-id for a multi-tenant admin, 400 = malformed, 404 = unknown
        organisation, 403 = the header went to a route that does not take it."""
        status = response.status_code
        what = f"{method} {path}"
        org = self.config.org_id
        if status == 401:
            hint = (
                f"check {API_KEY_ENV} (a key reset in the console no longer works)"
                if org
                else f"check {API_KEY_ENV}; a multi-tenant admin's key also needs {ORG_ID_ENV} / --jc-org-id"
            )
            return JumpCloudError(
                f"JumpCloud refused the request (HTTP 401 on {what}): {hint}", status=status, kind="auth"
            )
        if status == 403:
            hint = (
                f"x-org-id ({ORG_ID_ENV}) was sent to a route that does not take it, or the admin's role may "
                "not do this"
                if org
                else "the admin's role may not do this"
            )
            return JumpCloudError(f"JumpCloud denied {what} (HTTP 403): {hint}", status=status, kind="forbidden")
        if status == 404:
            if org and not _names_an_object(path):
                return JumpCloudError(
                    f"JumpCloud has no organisation {org!r} (HTTP 404 on {what}): check {ORG_ID_ENV} / --jc-org-id",
                    status=status,
                    kind="auth",
                )
            return JumpCloudError(f"JumpCloud has no such object ({what}: HTTP 404)", status=status, kind="not_found")
        detail = self._detail(response)
        message = f"JumpCloud answered HTTP {status} to {what}" + (f": {detail}" if detail else "")
        if status == 400 and org and not ORG_ID_PATTERN.match(org):
            message += f" ({ORG_ID_ENV} {org!r} is malformed: an organisation ID is 24 hex characters)"
        return JumpCloudError(message, status=status)

    def _detail(self, response: httpx.Response) -> str:
        detail = ""
        try:
            body = response.json()
            if isinstance(body, dict):
                detail = str(body.get("message") or body.get("error") or "")
        except ValueError:
            detail = response.text
        return self._scrub(" ".join(detail.split()))[:200]

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """One call, retried on 429 (after ``Retry-After``), 5xx and timeouts; raises :class:`JumpCloudError`."""
        headers = {"x-api-key": self.config.api_key.reveal()}
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, params=params, json=json, headers=headers)
            except httpx.TimeoutException:
                failure = JumpCloudError(
                    f"JumpCloud did not answer {method} {path} within {self.config.timeout:g}s",
                    kind="unreachable",
                )
                wait = None
            except httpx.TransportError as exc:
                failure = JumpCloudError(
                    f"cannot reach JumpCloud at {self.config.base_url} ({type(exc).__name__})", kind="unreachable"
                )
                wait = None
            else:
                if response.status_code < 400:
                    return response
                failure = self._error(method, path, response)
                if response.status_code not in RETRY_STATUSES:
                    raise failure
                wait = _retry_after(response) if response.status_code == 429 else None
            if attempt >= self.config.retries:
                raise failure
            delay = min(self.config.max_wait_s, wait if wait is not None else self.config.backoff_s * 2**attempt)
            log.debug("JumpCloud %s %s: %s; retrying in %.1fs", method, path, failure.message, delay)
            self._sleep(delay)
            attempt += 1

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None).json()

    def post(self, path: str, body: Any = None) -> Any:
        response = self.request("POST", path, json=body if body is not None else {})
        return response.json() if response.content else None

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, json=body).json()

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    # ---- paging ----------------------------------------------------------------------------------

    def v1_list(self, path: str, page_size: int = PAGE_SIZE, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a v1 list (``{totalCount, results}``), page by page, sorted by ``_id``."""
        skip = 0
        while True:
            page = self.get(path, limit=page_size, skip=skip, sort="_id", **params)
            results = page.get("results") or []
            yield from results
            skip += len(results)
            if not results or skip >= int(page.get("totalCount", 0)):
                return

    def v2_list(self, path: str, page_size: int = PAGE_SIZE, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a v2 list (a JSON array), page by page; ``X-Total-Count`` is used only if sent."""
        skip = 0
        while True:
            response = self.request("GET", path, params={"limit": page_size, "skip": skip, **params})
            results = response.json() or []
            yield from results
            skip += len(results)
            total = response.headers.get("x-total-count")
            # Without the header, a short page is the last one (the PS module's rule).
            if not results or (int(total) <= skip if total is not None else len(results) < page_size):
                return


__all__ = [
    "API_KEY_ENV",
    "ORG_ID_ENV",
    "REGION_URLS",
    "URL_ENV",
    "JumpCloudClient",
    "JumpCloudConfig",
    "JumpCloudError",
    "base_url_for",
    "find_api_key",
    "load_config",
]
