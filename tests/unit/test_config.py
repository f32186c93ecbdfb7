"""Settings read from the environment: yes/no settings and the address in e-mail links."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from config import BASE_DIR, yes_no

YES = ["1", "true", "TRUE", "True", "yes", "Yes", "on", "ON", " true "]
NO = ["0", "false", "FALSE", "no", "No", "off", "OFF"]


def settings_in_a_fresh_process(code: str, **env: str) -> subprocess.CompletedProcess:
    """Import config.py in a new interpreter with `env` added: settings are read when it loads."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SESSION_", "MAIL_", "ADSERVER_"))}
    return subprocess.run(
        [sys.executable, "-c", f"import config; {code}"],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("raw", YES)
def test_a_yes_no_setting_reads_every_common_spelling_of_yes(monkeypatch, raw):
    monkeypatch.setenv("MAIL_USE_TLS", raw)
    assert yes_no("MAIL_USE_TLS", False) is True


@pytest.mark.parametrize("raw", NO)
def test_a_yes_no_setting_reads_every_common_spelling_of_no(monkeypatch, raw):
    monkeypatch.setenv("MAIL_USE_TLS", raw)
    assert yes_no("MAIL_USE_TLS", True) is False


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_an_unset_or_empty_yes_no_setting_takes_its_default(monkeypatch, raw):
    if raw is None:
        monkeypatch.delenv("MAIL_USE_TLS", raising=False)
    else:
        monkeypatch.setenv("MAIL_USE_TLS", raw)
    assert yes_no("MAIL_USE_TLS", True) is True
    assert yes_no("MAIL_USE_TLS", False) is False


@pytest.mark.parametrize("raw", ["2", "y", "enabled", "tru", "-1", "yes please"])
def test_anything_else_is_refused_with_a_message_naming_the_setting(monkeypatch, raw):
    monkeypatch.setenv("SESSION_COOKIE_SECURE", raw)
    with pytest.raises(RuntimeError, match=r"SESSION_COOKIE_SECURE must be yes or no .*not '"):
        yes_no("SESSION_COOKIE_SECURE", False)


def test_true_turns_secure_cookies_and_starttls_on_at_start_up():
    done = settings_in_a_fresh_process(
        "print(config.DevelopmentConfig.SESSION_COOKIE_SECURE, config.ProductionConfig.SESSION_COOKIE_SECURE,"
        " config.Config.MAIL_USE_TLS, config.Config.MAIL_USE_SSL, config.Config.ADSERVER_PUSH_AFTER_REQUEST)",
        SESSION_COOKIE_SECURE="true",
        MAIL_USE_TLS="true",
        MAIL_USE_SSL="off",
        ADSERVER_PUSH_AFTER_REQUEST="No",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "True", "False", "False"]


def test_production_keeps_secure_cookies_unless_told_no():
    done = settings_in_a_fresh_process(
        "print(config.ProductionConfig.SESSION_COOKIE_SECURE, config.DevelopmentConfig.SESSION_COOKIE_SECURE)"
    )
    assert done.stdout.split() == ["True", "False"]
    done = settings_in_a_fresh_process(
        "print(config.ProductionConfig.SESSION_COOKIE_SECURE)", SESSION_COOKIE_SECURE="off"
    )
    assert done.stdout.split() == ["False"]


def test_a_misspelt_yes_no_setting_stops_start_up_naming_it():
    done = settings_in_a_fresh_process("", MAIL_USE_TLS="ture")
    assert done.returncode != 0
    assert "MAIL_USE_TLS must be yes or no" in done.stderr and "'ture'" in done.stderr
