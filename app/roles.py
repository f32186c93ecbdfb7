"""The roles a user can hold. A user may hold several."""

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    SALES_REP = "sales_rep"
    SALES_MANAGER = "sales_manager"
    AD_OPS = "ad_ops"
    FINANCE = "finance"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: "Admin",
    Role.SALES_REP: "Sales rep",
    Role.SALES_MANAGER: "Sales manager",
    Role.AD_OPS: "Ad ops",
    Role.FINANCE: "Finance",
}

#: Roles that see every account and may edit any of them.
ACCOUNT_EDITORS = frozenset({Role.ADMIN, Role.SALES_MANAGER})
