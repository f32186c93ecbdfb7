"""Orders sit above proposals and workflow: at start-up they fill in what those ask of them (create_app
calls `register`), instead of proposals and workflow importing orders."""

from __future__ import annotations

from app.orders import changes, service
from app.proposals import states
from app.workflow import events as workflow_events


def register() -> None:
    states.register_order_lookup(service.has_order)
    workflow_events.register("order_signed", service.make_order)
    workflow_events.register("change_approved", changes.apply_if_change_order)
    workflow_events.register_submission_check("change order", changes.check_if_change_order)
