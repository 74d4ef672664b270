"""JumpCloud tests talk only to loopback: the lab API stand-in, never a real JumpCloud endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from toolkit.jumpcloud import client as jc_client


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No real key or URL from the developer's environment; any request off loopback fails the test."""
    for name in ("JCFIX_JC_API_KEY", "JCFIX_JC_URL", "JCFIX_JC_ORG_ID", "JCFIX_JC_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setattr(jc_client, "find_api_key", _env_only_key)
    original = jc_client.JumpCloudClient.__init__

    def guarded(self: jc_client.JumpCloudClient, config: jc_client.JumpCloudConfig, **kwargs: object) -> None:
        assert config.base_url.startswith(("http://127.", "http://localhost")), config.base_url
        original(self, config, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jc_client.JumpCloudClient, "__init__", guarded)
    yield


def _env_only_key(environ: dict[str, str] | None = None) -> object:
    """``find_api_key`` without the OS keyring (a developer's stored key must not leak into a test)."""
    import os

    from toolkit.secrets import Secret

    value = (os.environ if environ is None else environ).get("JCFIX_JC_API_KEY")
    return Secret(value) if value else None
