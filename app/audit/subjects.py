"""The records the audit log can name: each domain registers its own at start-up.

Audit sits beneath every domain, so it cannot import them to name, load and link their records.
Each domain registers its record kinds instead, from its `hooks.register()`, which `create_app`
calls (a CTFd-style registry: a dict and a lookup).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Subject:
    """Where a record's history leads, and who may read it: exactly who may open the record's page."""

    model: type
    #: The record's page: its access rule is the history's access rule.
    endpoint: str
    arg: str | None
    #: The record page's own loader, for records that are checked one by one (a rep's proposal):
    #: it raises NotFound or Forbidden just as that page does.
    load: Callable[[int], object] | None = None


#: Entity type as the audit log stores it ("proposal") -> its record.
SUBJECTS: dict[str, Subject] = {}


def register_subject(entity_type: str, subject: Subject) -> None:
    """Let the audit pages name, link and load `entity_type` records (idempotent: one app per test)."""
    SUBJECTS[entity_type] = subject


def subject_for(entity_type: str) -> Subject | None:
    return SUBJECTS.get(entity_type)
