"""A version's snapshot read through typed objects gives back the very JSON it was stored as."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.proposals.snapshot import SnapshotLine, VersionSnapshot
from app.proposals.versions import diff

STORED = {
    "number": "P-2027-0001",
    "version": 2,
    "created_at": "2027-01-15T09:30:00+00:00",
    "campaign_name": "Spring",
    "status": "draft",
    "advertiser": {
        "id": 3,
        "name": "Ferrymoor Bank",
        "billing_address": "1 Quay",
        "billing_country": "GB",
        "credit_status": "ok",
        "discount_pct": "5.00",
    },
    "agency": {"id": 4, "name": "Tidewater", "commission_pct": "15.00"},
    "buyer": {"name": "Ann", "email": "ann@example.com", "title": ""},
    "rep": {"name": "Rob", "email": "rob@example.com"},
    "currency": "GBP",
    "rate_card": {"id": 1, "name": "2027"},
    "flight": {"start": "2027-02-01", "end": "2027-02-28", "time_zone": "Europe/London"},
    "budget_goal": None,
    "discount_pct": "0",
    "expires_on": "2027-01-31",
    "notes": "",
    "terms": "",
    "lines": [
        {
            "position": 1,
            "product": {"id": 7, "name": "Homepage", "category": "display"},
            "pricing_model": "cpm",
            "targeting": {"geo": ["GB"]},
            "targeting_words": "UK",
            "start": "2027-02-01",
            "end": "2027-02-28",
            "time_zone": "Europe/London",
            "units": 500000,
            "quantity": 500000,
            "budget": None,
            "discount_pct": "10.00",
            "list_rate": "12.00",
            "net_rate": "10.80",
            "gross": "6000.00",
            "commission": "900.00",
            "net": "5100.00",
            "available": 900000,
            "problems": [],
            "price": {
                "pricing_model": "cpm",
                "steps": [
                    {"key": "base", "label": "Base", "detail": "", "amount": "12.00", "rate": "12.00"},
                    {"key": "net", "label": "Net", "detail": "", "amount": "-1.20", "rate": "10.80"},
                ],
                "base_rate": "12.00",
                "list_rate": "12.00",
                "net_rate": "10.80",
                "floor": None,
                "below_floor_by": "0",
                "units": 500000,
                "impressions": 500000,
                "gross": "6000.00",
                "commission": "900.00",
                "net": "5100.00",
                "effective_cpm": "10.20",
            },
            "order_line_id": None,
            "make_good_of_id": None,
        }
    ],
    "totals": {"gross": "6000.00", "commission": "900.00", "net": "5100.00", "impressions": 500000,
               "effective_cpm": "10.20"},
}  # fmt: skip


def test_a_snapshot_read_and_written_again_is_the_same_json():
    assert VersionSnapshot.from_json(STORED).to_json() == STORED


def test_money_reads_as_decimal_and_days_as_dates():
    typed = VersionSnapshot.from_json(STORED)
    (line,) = typed.lines
    assert typed.totals.net == Decimal("5100.00") and line.price.steps[-1].amount == Decimal("-1.20")
    assert typed.flight.start == date(2027, 2, 1) and line.end == date(2027, 2, 28)
    assert typed.advertiser.discount_pct == Decimal("5.00") and typed.agency.commission_pct == Decimal("15.00")
    assert line.booked_quantity == 500_000 and typed.flight.days == 28


def test_an_older_snapshot_without_some_keys_keeps_them_absent_and_unknown_keys_are_kept():
    old = {**STORED, "lines": [{k: v for k, v in STORED["lines"][0].items() if k != "make_good_of_id"}]}
    del old["buyer"]
    old["legacy"] = {"kept": True}
    typed = VersionSnapshot.from_json(old)
    assert typed.lines[0].make_good_of_id is None and typed.buyer is None
    assert typed.to_json() == old


def test_a_snapshot_built_from_values_writes_the_stored_shape():
    line = SnapshotLine.from_json(STORED["lines"][0])
    built = SnapshotLine(**{f: getattr(line, f) for f in SnapshotLine.__dataclass_fields__ if not f.startswith("_")})
    assert built.to_json() == STORED["lines"][0]


def test_a_snapshot_made_before_notes_were_split_has_no_notes_for_the_buyer_and_is_written_back_unchanged():
    assert "buyer_notes" not in STORED
    typed = VersionSnapshot.from_json(STORED)
    assert typed.buyer_notes == ""
    assert typed.to_json() == STORED


def test_notes_for_the_buyer_are_kept_beside_the_internal_notes():
    stored = {**STORED, "notes": "Internal only.", "buyer_notes": "Creative by 1 Feb."}
    typed = VersionSnapshot.from_json(stored)
    assert (typed.notes, typed.buyer_notes) == ("Internal only.", "Creative by 1 Feb.")
    assert typed.to_json() == stored


def test_comparing_a_version_made_before_the_split_with_one_without_notes_for_the_buyer_finds_no_change():
    later = {**STORED, "buyer_notes": ""}
    assert diff(STORED, later)["fields"] == []
    assert diff(STORED, {**later, "buyer_notes": "Creative by 1 Feb."})["fields"] == [
        ("Notes for the buyer", "", "Creative by 1 Feb.")
    ]
