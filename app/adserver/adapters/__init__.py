"""The registry of ad-server adapters: a kind names one class."""

from __future__ import annotations

from collections.abc import Mapping

from app.adserver.adapters.base import Adapter, AdServerError

ADAPTERS: dict[str, type[Adapter]] = {}


def register(cls: type[Adapter]) -> type[Adapter]:
    ADAPTERS[cls.kind] = cls
    return cls


def adapter_class(kind: str) -> type[Adapter]:
    _load()
    try:
        return ADAPTERS[kind]
    except KeyError:
        raise AdServerError(f"No ad-server adapter called {kind!r}.", transient=False) from None


def adapter_for(kind: str, settings: Mapping[str, str], *, time_zone: str, timeout: float = 30.0) -> Adapter:
    return adapter_class(kind)(settings, time_zone=time_zone, timeout=timeout)


def kinds() -> list[type[Adapter]]:
    _load()
    return list(ADAPTERS.values())


MODULES = ("sandbox", "gam", "revive")


def _load() -> None:
    # Imported here, not at the top: the adapters import the registry, and googleads loads slowly.
    import importlib

    for name in MODULES:
        importlib.import_module(f"app.adserver.adapters.{name}")
