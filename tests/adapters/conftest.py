"""Fixtures for the ad-server adapters: a fake Google Ad Manager on loopback, and GAM adapters on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from app.adserver.adapters.gam import GamAdapter
from tests.support.fake_gam import FakeAdManager


@pytest.fixture
def fake_gam() -> Iterator[FakeAdManager]:
    """A fake Ad Manager for one test; the test fails if the adapter sent it what it does not know."""
    with FakeAdManager() as fake:
        yield fake
    if fake.unsupported:
        pytest.fail(f"the adapter sent what the fake Ad Manager does not understand: {fake.unsupported}")


@pytest.fixture
def gam_adapter(fake_gam: FakeAdManager) -> Callable[..., GamAdapter]:
    """Makes a GamAdapter signed in to the fake with its token; keyword arguments change settings."""

    def make(*, timeout: float = 5.0, **settings: str) -> GamAdapter:
        base = {
            "network_code": fake_gam.network_code,
            "access_token": fake_gam.token,
            "server": fake_gam.url,
            "api_version": "v202608",
        }
        return GamAdapter({**base, **settings}, time_zone="Europe/Berlin", timeout=timeout)

    return make
