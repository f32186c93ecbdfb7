"""Traffic history, the forecast and the backtest on the demo publisher, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.catalog.models import AdUnit, TargetingDimension, TargetingValue
from app.csvio import ImportFailed
from app.demo import publisher
from app.extensions import db
from app.inventory.forecast_runs import PPM, NotEnoughHistory, backtest, import_history, refresh_forecast
from app.inventory.models import ForecastDay, ForecastRun, TrafficDay, TrafficShare
from tests.conftest import now

HEADER = "ad_unit,day,impressions,geo,device\n"
MPU = "daily-harbour/news/mpu"


def unit_id(code: str) -> int:
    return db.session.scalar(sa.select(AdUnit.id).where(AdUnit.code == code))


def active_slot_ids() -> set[int]:
    return set(db.session.scalars(sa.select(AdUnit.id).where(AdUnit.level == "slot", AdUnit.status == "active")))


def value_codes(dimension: str) -> set[str]:
    return set(
        db.session.scalars(
            sa.select(TargetingValue.code).join(TargetingDimension).where(TargetingDimension.key == dimension)
        )
    )


def shares_of(slot_id: int, dimension: str) -> dict[str, int]:
    rows = db.session.execute(
        sa.select(TrafficShare.value_code, TrafficShare.ppm).where(
            TrafficShare.ad_unit_id == slot_id, TrafficShare.dimension == dimension
        )
    )
    return dict(rows.all())


def replace_history_with_the_demo_traffic_up_to(last_day: date) -> None:
    """The demo publisher's year of traffic as it was on `last_day`, so the figures do not move with the calendar."""
    db.session.execute(sa.delete(TrafficDay))
    first_day = last_day - timedelta(days=364)
    rows = [
        {"ad_unit_id": unit_id(slot.code), "day": day, "impressions": n, "by_geo": geo, "by_device": device}
        for slot in publisher.all_slots()
        for day, n, geo, device in publisher.traffic_history(slot.code, slot.base_daily, first_day, last_day)
    ]
    db.session.execute(sa.insert(TrafficDay), rows)


# --- The forecast ------------------------------------------------------------------------------


def test_after_the_demo_load_every_active_slot_has_a_year_of_forecast_from_today(ctx):
    run = db.session.scalar(sa.select(ForecastRun).order_by(ForecastRun.id.desc()).limit(1))
    last_traffic = db.session.scalar(sa.select(sa.func.max(TrafficDay.day)))
    assert run.history_end == last_traffic and run.first_day == last_traffic + timedelta(days=1)
    per_slot = db.session.execute(
        sa.select(
            ForecastDay.ad_unit_id,
            sa.func.count(),
            sa.func.min(ForecastDay.day),
            sa.func.max(ForecastDay.day),
            sa.func.min(ForecastDay.impressions),
        ).group_by(ForecastDay.ad_unit_id)
    ).all()
    assert {slot for slot, *_ in per_slot} == active_slot_ids()
    for _, days, first, last, lowest in per_slot:
        assert (days, first, last) == (365, run.first_day, run.first_day + timedelta(days=364))
        assert lowest > 0


def test_after_the_demo_load_each_slots_geo_and_device_shares_add_up_to_a_million(ctx):
    for slot_id in active_slot_ids():
        for dimension in ("geo", "device"):
            shares = shares_of(slot_id, dimension)
            assert sum(shares.values()) == PPM
            assert set(shares) <= value_codes(dimension)
    london = shares_of(unit_id(MPU), "geo")["london"]
    assert 0.14 * PPM < london < 0.19 * PPM  # the demo's 16.5 %, give or take the noise of 56 days


def test_a_refresh_replaces_the_forecast_rather_than_adding_to_it(ctx):
    run = refresh_forecast(now=now(), today=date.today())
    refresh_forecast(now=now(), today=run.first_day)
    days = db.session.scalar(
        sa.select(sa.func.count()).where(ForecastDay.day >= run.first_day, ForecastDay.day <= run.last_day)
    )
    shares = db.session.scalar(sa.select(sa.func.count()).select_from(TrafficShare))
    assert days == 365 * len(active_slot_ids())
    assert shares == len(active_slot_ids()) * (len(value_codes("geo")) + len(value_codes("device")))


def test_a_slot_without_history_is_forecast_at_zero_with_the_publishers_shares(ctx):
    section = db.session.scalar(sa.select(AdUnit).where(AdUnit.code == "daily-harbour/news"))
    new_slot = AdUnit(level="slot", code="daily-harbour/news/new-slot", name="New slot", parent=section)
    db.session.add(new_slot)
    db.session.flush()
    run = refresh_forecast(now=now(), today=date.today())
    expected = db.session.scalars(sa.select(ForecastDay.impressions).where(ForecastDay.ad_unit_id == new_slot.id))
    assert list(expected) == [0] * 365
    geo = shares_of(new_slot.id, "geo")
    assert sum(geo.values()) == PPM and set(geo) == value_codes("geo")
    assert run.last_day == date.today() + timedelta(days=364)


# --- The backtest ------------------------------------------------------------------------------


def test_the_backtest_on_the_demo_history_beats_the_seasonal_naive_baseline_weeks_one_to_four(ctx):
    replace_history_with_the_demo_traffic_up_to(date(2026, 11, 21))
    report = backtest()
    assert (report.first_day, report.last_day) == (date(2026, 10, 25), date(2026, 11, 21))
    assert report.weeks == 4 and len(report.baseline.weeks) == 4
    assert {unit.ad_unit_id for unit in report.units} == active_slot_ids()
    assert all(len(unit.model.weeks) == 4 for unit in report.units)
    assert report.beats_baseline and report.model.overall < report.baseline.overall - 0.01
    assert report.model.weeks[0] < report.model.weeks[3]  # the error grows with the distance


def test_a_backtest_holding_out_everything_says_there_is_not_enough_history(ctx):
    with pytest.raises(NotEnoughHistory, match="hold out fewer days"):
        backtest(holdout_days=400)


# --- The import --------------------------------------------------------------------------------


def test_importing_history_adds_new_days_and_replaces_the_days_on_record(ctx):
    yesterday = db.session.scalar(sa.select(sa.func.max(TrafficDay.day)))
    before = db.session.scalar(sa.select(sa.func.count()).select_from(TrafficDay))
    calls = []
    counts = import_history(
        HEADER
        + f"{MPU},{yesterday},1000,london=600|scotland=400,mobile=700|desktop=300\n"
        + f"{MPU},{yesterday + timedelta(days=1)},50,wales=50,tablet=50\n",
        progress=calls.append,
    )
    assert counts == {"rows": 2, "created": 1, "updated": 1}
    assert sum(calls) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TrafficDay)) == before + 1
    replaced = db.session.scalar(
        sa.select(TrafficDay).where(TrafficDay.ad_unit_id == unit_id(MPU), TrafficDay.day == yesterday)
    )
    db.session.refresh(replaced)
    assert (replaced.impressions, replaced.by_geo, replaced.by_device) == (
        1000,
        {"london": 600, "scotland": 400},
        {"mobile": 700, "desktop": 300},
    )


BAD_FILE = (
    HEADER
    + f"{MPU},2020-01-01,100,london=60|scotland=40,mobile=100\n"  # line 2: good
    + "nowhere/slot,2020-01-01,100,london=100,mobile=100\n"  # 3
    + f"{MPU},2020-13-01,100,london=100,mobile=100\n"  # 4
    + f"{MPU},2020-01-02,-5,,\n"  # 5
    + f"{MPU},2020-01-03,12.5,london=12.5,mobile=12\n"  # 6
    + f"{MPU},2020-01-04,100,london=90,mobile=100\n"  # 7
    + f"{MPU},2020-01-05,100,london=100,smartwatch=100\n"  # 8
    + "\n"  # 9: blank, skipped
    + f"{MPU},2020-01-01,100,london=100,mobile=100\n"  # 10: same slot and day as line 2
    + "daily-harbour/news,2020-01-06,100,london=100,mobile=100\n"  # 11
    + f"{MPU},2020-01-07,100,london,mobile=100\n"  # 12
)


def test_a_history_file_with_bad_rows_reports_each_with_its_line_and_changes_nothing(ctx):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(TrafficDay))
    with pytest.raises(ImportFailed) as failed:
        import_history(BAD_FILE.encode())
    problems = {p.line: p.message for p in failed.value.problems}
    assert set(problems) == {3, 4, 5, 6, 7, 8, 10, 11, 12}
    assert "no ad unit with the code nowhere/slot" in problems[3]
    assert "2020-13-01" in problems[4]
    assert "negative" in problems[5]
    assert "not a whole number" in problems[6]
    assert len([p for p in failed.value.problems if p.line == 6]) == 2  # impressions and london
    assert "geo adds up to 90, not to the 100 impressions" in problems[7]
    assert "smartwatch is not a device" in problems[8]
    assert "already on line 2" in problems[10]
    assert "is a section, not a slot" in problems[11]
    assert "london" in problems[12] and "code=impressions" in problems[12]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TrafficDay)) == before
    assert db.session.scalar(sa.select(TrafficDay.id).where(TrafficDay.day == date(2020, 1, 1))) is None


def test_a_broken_csv_row_is_reported_with_its_line(ctx):
    with pytest.raises(ImportFailed) as failed:
        import_history(HEADER + f"{MPU},2020-01-01,100,london=100,mobile=100\n{MPU},2020-01-02,1,2,3,4\n")
    assert [str(p) for p in failed.value.problems] == ["Line 3: 6 cells for 5 columns."]


# --- The command line --------------------------------------------------------------------------


def test_the_import_command_lists_every_bad_line_and_exits_1(runner, app, tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(BAD_FILE)
    result = runner.invoke(args=["inventory", "import-history", str(path)])
    assert result.exit_code == 1
    assert re.findall(r"^Line (\d+): ", result.stderr, flags=re.MULTILINE) == [
        "3", "4", "5", "6", "6", "7", "8", "10", "11", "12"
    ]  # fmt: skip
    with app.app_context():
        assert db.session.scalar(sa.select(TrafficDay.id).where(TrafficDay.day == date(2020, 1, 1))) is None


def test_the_import_command_commits_a_good_file(runner, app, tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HEADER + f"{MPU},2020-01-01,100,london=60|scotland=40,mobile=100\n")
    result = runner.invoke(args=["inventory", "import-history", str(path)])
    assert result.exit_code == 0, result.output
    assert "Imported 1 slot-day of traffic: 1 new, 0 replaced." in result.stdout
    with app.app_context():
        assert db.session.scalar(sa.select(TrafficDay.impressions).where(TrafficDay.day == date(2020, 1, 1))) == 100


def test_the_forecast_command_refreshes_and_commits(runner, app):
    with app.app_context():
        runs = db.session.scalar(sa.select(sa.func.count()).select_from(ForecastRun))
        slots = len(active_slot_ids())
    result = runner.invoke(args=["inventory", "forecast"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Forecast refreshed: {slots * 365:,} slot-days from ")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ForecastRun)) == runs + 1


def test_the_backtest_command_prints_weeks_one_to_four_overall_and_per_slot(runner, app):
    result = runner.invoke(args=["inventory", "backtest", "--holdout-days", "28"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["Week", "1", "Week", "2", "Week", "3", "Week", "4", "All"]
    assert re.fullmatch(r"All slots(\s+\d+\.\d /\s+\d+\.\d){5}", lines[2])
    with app.app_context():
        codes = set(db.session.scalars(sa.select(AdUnit.code).where(AdUnit.id.in_(active_slot_ids()))))
    assert {line.split()[0] for line in lines[3:-1]} == codes
    assert re.fullmatch(r"The forecast (beats|does NOT beat) the seasonal-naive baseline: .* overall\.", lines[-1])


def test_the_backtest_command_refuses_less_than_a_week(runner):
    result = runner.invoke(args=["inventory", "backtest", "--holdout-days", "3"])
    assert result.exit_code == 2 and "--holdout-days" in result.output


def test_the_solve_command_prints_the_engines_answer_as_json(runner, tmp_path):
    path = tmp_path / "instance.json"
    path.write_text(
        json.dumps(
            {
                "atoms": [{"id": "a1", "impressions": 1200}],
                "lines": [{"id": "L1", "quantity": 500, "atoms": ["a1"]}, {"id": "S1", "share": 0.25, "atoms": ["a1"]}],
                "query": {"atoms": ["a1"]},
            }
        )
    )
    result = runner.invoke(args=["inventory", "solve", str(path)])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert (answer["available"], answer["matched"]) == (400, 1200)
    assert result.stdout.startswith('{\n  "')  # indented by 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"atoms": [', "instance.json is not valid JSON: "),
        ('{"atoms": [], "lines": [{"id": "L1", "quantity": 5, "atoms": ["a9"]}]}', "line L1 covers unknown atom a9"),
        ('{"atoms": [1]}', "“atoms” is a list of objects"),
    ],
    ids=["bad-json", "unknown-atom", "wrong-shape"],
)
def test_the_solve_command_refuses_a_malformed_instance_with_status_2(runner, tmp_path, content, message):
    path = tmp_path / "instance.json"
    path.write_text(content)
    result = runner.invoke(args=["inventory", "solve", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
