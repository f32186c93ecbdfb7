"""The main menu: one line at desktop widths, so what an admin sets up now and then is grouped."""

from __future__ import annotations

from app.roles import Role
from app.templating import menu_for


def labels(items) -> list[str]:
    return [item.label for item in items]


def test_the_admin_menu_groups_what_is_set_up_now_and_then_under_admin():
    menu = menu_for({Role.ADMIN}, "home.index")
    assert labels(menu) == [
        "Home", "Proposals", "Approvals", "Orders", "Ad ops", "Finance",
        "Catalog", "Rate cards", "Inventory", "Accounts", "Admin",
    ]  # fmt: skip
    assert labels(menu[-1].children) == ["Ad servers", "Approval rules", "Users", "Audit log", "Outbox"]


def test_a_page_inside_a_group_marks_the_group_and_its_item_as_current():
    admin = menu_for({Role.ADMIN}, "workflow.rules")[-1]
    assert admin.active and [c.label for c in admin.children if c.active] == ["Approval rules"]


def test_a_lone_item_of_a_group_stays_in_the_menu_itself():
    menu = menu_for({Role.AD_OPS}, "adserver.connection")
    assert "Admin" not in labels(menu) and labels(menu)[-1] == "Ad servers"
    assert [item.label for item in menu if item.active] == ["Ad servers"]


def test_a_rep_sees_no_group():
    assert all(not item.children for item in menu_for({Role.SALES_REP}, "home.index"))
