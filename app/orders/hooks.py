"""What orders register with the domains beneath them, at start-up (`create_app`): the orders the audit
pages name; for inventory, which order a booking is for; for proposals, whether one has an order and
the make-good checks; for workflow, making the order a signed version becomes, applying an approved
change order, and the checks before a change order or a make-good is submitted."""

from __future__ import annotations

from app.audit.subjects import Subject, register_subject
from app.inventory import bookings
from app.orders import changes, make_goods, queries, service
from app.orders.models import Order
from app.orders.views import readable_order
from app.proposals import registry
from app.workflow import events as workflow_events


def register() -> None:
    register_subject("order", Subject(Order, "orders.detail", "order_id", readable_order))
    bookings.register(owned_by=queries.bookings_owned_by, orders_of=queries.orders_of_bookings)
    registry.providers["has_order"] = service.order_number_of
    registry.line_checks["make_good"] = make_goods.check_make_good_line
    registry.advertiser_checks["make_good"] = make_goods.check_make_good_advertiser
    registry.page_panels["orders"] = service.orders_panel
    workflow_events.register("order_signed", service.make_order)
    workflow_events.register("change_approved", changes.apply_if_change_order)
    workflow_events.register_submission_check("change order", changes.check_if_change_order)
    workflow_events.register_submission_check("make-goods", make_goods.check_make_goods)
