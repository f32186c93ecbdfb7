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


def make_run_commands(*args: str, **env: str) -> str:
    """What `make run` would execute (`make -n`), with set-up stamps as they are."""
    clean = {k: v for k, v in os.environ.items() if k != "PUBLIC_URL"}
    done = subprocess.run(
        ["make", "-n", "run", *args], cwd=BASE_DIR, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_run_on_another_port_puts_that_address_in_email_links_from_the_demo_and_the_server():
    commands = make_run_commands("PORT=5101").splitlines()
    serve = next(c for c in commands if "flask run" in c)
    demo = next(c for c in commands if "flask demo load" in c)
    for command in (serve, demo):
        assert "PUBLIC_URL='http://127.0.0.1:5101' " in command
    assert "--port 5101" in serve


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_make_run_on_every_interface_puts_the_machines_name_in_email_links_and_says_to_set_public_url(host):
    name = subprocess.run(["hostname", "-f"], capture_output=True, text=True).stdout.strip() or "127.0.0.1"
    commands = make_run_commands(f"HOST={host}", "PORT=5101")
    serve = next(c for c in commands.splitlines() if "flask run" in c)
    assert f"PUBLIC_URL='http://{name}:5101' " in serve and f"--host {host}" in serve
    assert f"http://{host}:" not in commands
    assert "set PUBLIC_URL" in commands


def test_make_run_keeps_a_public_url_that_is_set():
    commands = make_run_commands("PORT=5101", PUBLIC_URL="https://deals.example")
    assert commands.count("PUBLIC_URL='https://deals.example' ") == 2 and "PUBLIC_URL='http://" not in commands


def started(caplog, **settings):
    from app import create_app

    with caplog.at_level("WARNING"):
        return create_app({"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://", **settings})


def public_url_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "PUBLIC_URL" in r.getMessage()]


def test_production_warns_at_start_up_when_public_url_is_unset(caplog):
    app = started(caplog, ENV_NAME="production", PUBLIC_URL="")
    assert public_url_warnings(caplog) and "signing link" in public_url_warnings(caplog)[0]
    assert app.config["PUBLIC_URL"] == "http://127.0.0.1:5000"


def test_production_with_public_url_set_and_development_without_it_start_quietly(caplog):
    app = started(caplog, ENV_NAME="production", PUBLIC_URL="https://deals.example/")
    assert app.config["PUBLIC_URL"] == "https://deals.example"
    started(caplog, ENV_NAME="development", PUBLIC_URL="")
    assert public_url_warnings(caplog) == []


@pytest.mark.parametrize("url", ["deals.example", "ftp://deals.example", "https://", "https://deals.example/?a=1"])
def test_a_public_url_that_cannot_start_a_link_stops_start_up(caplog, url):
    with pytest.raises(RuntimeError, match="PUBLIC_URL must be an http:// or https:// address"):
        started(caplog, ENV_NAME="production", PUBLIC_URL=url)


def test_an_unknown_background_work_mode_stops_start_up_naming_the_choices():
    from app import create_app

    with pytest.raises(RuntimeError, match=r"BACKGROUND_WORK is 'later': choose one of thread, worker, inline"):
        create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://", "BACKGROUND_WORK": "later"})
