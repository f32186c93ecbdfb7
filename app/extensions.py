"""Extensions, created unbound and bound to the app in `create_app`, the model base, and the
settings and clock `create_app` builds."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import Flask, current_app
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from app.settings import Settings

if TYPE_CHECKING:
    # app.clock reads the time through app.db, which imports this module: the app factory builds the clock.
    from app.clock import Clock

#: Stable constraint names, so migrations can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()

SETTINGS = "flightdeck.settings"
CLOCK = "flightdeck.clock"


def install_settings(app: Flask, settings: Settings, clock: Clock) -> None:
    """Keep `settings` and the clock in its time zone on the app (also how a test changes a setting)."""
    app.extensions[SETTINGS] = settings
    app.extensions[CLOCK] = clock


def current_settings() -> Settings:
    """The running app's settings, for views and CLI commands (services take values as arguments)."""
    return current_app.extensions[SETTINGS]


def current_clock() -> Clock:
    """The running app's clock, for views and CLI commands (services take `now=` and `today=`)."""
    return current_app.extensions[CLOCK]
