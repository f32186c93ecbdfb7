"""Imports every domain's models so that the metadata (and Alembic) sees all tables."""

from app.accounts.models import Account, Contact  # noqa: F401
from app.adserver.models import (  # noqa: F401
    Connection,
    DeliveryDay,
    IdMapping,
    PushAttempt,
    PushJob,
    SandboxAdvertiser,
    SandboxLineItem,
    SandboxOrder,
)
from app.audit.models import AuditEvent  # noqa: F401
from app.auth.models import LoginAttempt, User, UserRole, UserSession  # noqa: F401
from app.catalog.models import (  # noqa: F401
    AdUnit,
    Package,
    PackageMember,
    Product,
    ProductAdUnit,
    TargetingDimension,
    TargetingValue,
)
from app.finance.models import (  # noqa: F401
    ClosedPeriod,
    FinanceExport,
    RevenueEntry,
    ThirdPartyCount,
)
from app.inventory.models import (  # noqa: F401
    ForecastDay,
    ForecastRun,
    InventoryLock,
    Reservation,
    TrafficDay,
    TrafficShare,
)
from app.mail.models import OutboxMessage  # noqa: F401
from app.nonces import FormNonce  # noqa: F401
from app.numbering import NumberCounter  # noqa: F401
from app.orders.models import Order, OrderLine  # noqa: F401
from app.proposals.models import Proposal, ProposalLine, ProposalVersion  # noqa: F401
from app.ratecards.models import (  # noqa: F401
    BaseRate,
    DemandBand,
    Floor,
    Premium,
    RateCard,
    Season,
    VolumeTier,
)
from app.workflow.models import ApprovalRequest, ApprovalRule, Signature, SigningLink  # noqa: F401
