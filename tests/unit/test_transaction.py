"""The unit of work (app/transaction.py) on an in-memory SQLite session, without the app."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from app.transaction import abandon, after_commit, in_transaction, in_unit_of_work, rollback, transaction


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]


@pytest.fixture
def session():
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session


def count(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count(Note.id)))


def test_a_block_that_succeeds_commits_once_then_runs_its_callbacks(session):
    commits, ran = [], []
    sa.event.listen(session, "after_commit", lambda s: commits.append(s))
    with transaction(session):
        session.add(Note(text="a"))
        session.flush()
        after_commit(session, lambda: ran.append(len(commits)))
    assert len(commits) == 1 and ran == [1]
    assert count(session) == 1


def test_a_block_that_raises_rolls_back_re_raises_and_runs_no_callback(session):
    ran = []
    with pytest.raises(ValueError), transaction(session):
        session.add(Note(text="a"))
        session.flush()
        after_commit(session, lambda: ran.append(1))
        raise ValueError("refused")
    assert count(session) == 0 and ran == []
    with transaction(session):  # the callback is not carried over to the next unit of work
        session.add(Note(text="b"))
    assert ran == []


def test_an_abandoned_block_ends_rolled_back_even_with_writes_after_the_abandon(session):
    ran = []
    with transaction(session):
        session.add(Note(text="a"))
        session.flush()
        after_commit(session, lambda: ran.append(1))
        abandon(session)
        assert count(session) == 0
        session.add(Note(text="b"))
    assert count(session) == 0 and ran == []
    with transaction(session):  # the next unit of work commits again
        session.add(Note(text="c"))
    assert count(session) == 1


def test_a_callback_registered_twice_runs_once_and_a_failing_one_does_not_stop_the_others(session, caplog):
    ran = []

    def deliver():
        ran.append("deliver")

    def broken():
        raise RuntimeError("mail server down")

    with transaction(session):
        session.add(Note(text="a"))
        after_commit(session, deliver)
        after_commit(session, broken)
        after_commit(session, deliver)
        after_commit(session, lambda: ran.append("push"))
    assert ran == ["deliver", "push"]
    assert "mail server down" in caplog.text


def test_a_callback_that_writes_opens_its_own_transaction(session):
    def render():
        with transaction(session):
            session.add(Note(text="rendered"))

    with transaction(session):
        session.add(Note(text="a"))
        after_commit(session, render)
    assert count(session) == 2


def test_a_savepoint_released_inside_the_block_keeps_the_callbacks_for_the_real_commit(session):
    ran = []
    with transaction(session):
        after_commit(session, lambda: ran.append(count(session)))
        with session.begin_nested():
            session.add(Note(text="a"))
        assert ran == []
        session.add(Note(text="b"))
    assert ran == [2]


def test_a_rollback_forgets_the_callbacks(session):
    ran = []
    session.add(Note(text="a"))
    session.flush()
    after_commit(session, lambda: ran.append(1))
    rollback(session)
    with transaction(session):
        session.add(Note(text="b"))
    assert ran == [] and count(session) == 1


def test_a_command_in_transaction_commits_when_it_returns_and_not_when_it_exits_with_an_error(session):
    @in_transaction(session)
    def add(text: str, fail: bool = False) -> str:
        session.add(Note(text=text))
        session.flush()
        if fail:
            raise SystemExit(1)
        return text

    assert add("a") == "a"
    with pytest.raises(SystemExit):
        add("b", fail=True)
    assert session.scalars(sa.select(Note.text)).all() == ["a"]


def test_a_unit_of_work_is_open_inside_the_block_only_and_a_nested_block_leaves_it_open(session):
    assert not in_unit_of_work(session)
    seen = []
    with transaction(session):
        seen.append(in_unit_of_work(session))
        with transaction(session):
            seen.append(in_unit_of_work(session))
        seen.append(in_unit_of_work(session))
        after_commit(session, lambda: seen.append(in_unit_of_work(session)))
    assert seen == [True, True, True, False] and not in_unit_of_work(session)
    with pytest.raises(RuntimeError), transaction(session):
        raise RuntimeError("refused")
    assert not in_unit_of_work(session)


def test_a_block_nested_in_another_keeps_the_outer_blocks_callbacks(session):
    ran = []
    with transaction(session):
        after_commit(session, lambda: ran.append("outer"))
        with transaction(session):
            session.add(Note(text="inner"))
            after_commit(session, lambda: ran.append("inner"))
    assert sorted(ran) == ["inner", "outer"] and count(session) == 1
