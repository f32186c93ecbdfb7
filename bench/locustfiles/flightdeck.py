"""Locust users for `bench/http.py`: reps, managers and finance sign in once and browse a realistic mix.

Run by the bench (`locust -f bench/locustfiles/flightdeck.py --headless ...`), never imported by it: Locust
patches the process with gevent. The bench passes what to ask for in FLIGHTDECK_BENCH_TARGETS (JSON: the
demo's ids and dates) and reads every request back from FLIGHTDECK_BENCH_SAMPLES (JSON lines), so that it
computes its own percentiles over the measured window.
"""

from __future__ import annotations

import json
import os
import random
import re
import time

from locust import FastHttpUser, between, events, task

TARGETS = json.loads(os.environ.get("FLIGHTDECK_BENCH_TARGETS", "{}"))
PASSWORD = "flightdeck-demo"
#: Seconds a user waits between pages (0: none, every user asks again as soon as it has its answer).
WAIT = float(os.environ.get("FLIGHTDECK_BENCH_WAIT", "0"))
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')

_samples: list[tuple[float, str, float, str]] = []


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception, start_time=None, **_kw) -> None:
    _samples.append((start_time or time.time(), name, response_time, "" if exception is None else str(exception)))


@events.quitting.add_listener
def _dump(environment, **_kw) -> None:
    path = os.environ.get("FLIGHTDECK_BENCH_SAMPLES")
    if path:
        with open(path, "w") as out:
            for start, name, ms, error in _samples:
                out.write(json.dumps({"start": start, "name": name, "ms": ms, "error": error}) + "\n")


class Staff(FastHttpUser):
    abstract = True
    wait_time = between(WAIT / 2, WAIT * 1.5)
    emails: tuple[str, ...] = ()

    def on_start(self) -> None:
        self.email = random.choice(self.emails)
        page = self.client.get("/login", name="sign in (form)")
        match = CSRF.search(page.text or "")
        token = match.group(1) if match else ""
        with self.client.post(
            "/login",
            data={"email": self.email, "password": PASSWORD, "csrf_token": token},
            name="sign in",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302 or response.headers.get("Location", "").endswith("/login"):
                response.failure(f"sign-in failed: {response.status_code}")

    def page(self, url: str, name: str) -> None:
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} on {url}")

    @task(4)
    def home(self) -> None:
        self.page("/", "home")

    @task(2)
    def orders(self) -> None:
        self.page("/orders/", "orders list")

    @task(2)
    def accounts_search(self) -> None:
        self.page(f"/accounts/?q={random.choice(TARGETS['account_searches'])}", "accounts search")


class Rep(Staff):
    weight = 3
    emails = ("rep@harbour.example", "rep2@harbour.example")

    @task(3)
    def proposals(self) -> None:
        self.page("/proposals/", "proposals list")

    @task(3)
    def proposal(self) -> None:
        if own := TARGETS["proposals"].get(self.email):  # a rep opens their own proposals
            self.page(f"/proposals/{random.choice(own)}", "proposal page")

    @task(3)
    def availability(self) -> None:
        self.page(f"/inventory/availability?{random.choice(TARGETS['availability'])}", "availability")

    @task(3)
    def quote(self) -> None:
        self.page(f"/pricing/quote?{random.choice(TARGETS['quotes'])}", "pricing quote")


class Manager(Staff):
    weight = 1
    emails = ("manager@harbour.example", "vp@harbour.example")

    @task(2)
    def proposals(self) -> None:
        self.page("/proposals/", "proposals list")

    @task(2)
    def queue(self) -> None:
        self.page("/workflow/queue", "approval queue")

    @task(1)
    def availability(self) -> None:
        self.page(f"/inventory/availability?{random.choice(TARGETS['availability'])}", "availability")


class Finance(Staff):
    weight = 1
    emails = ("finance@harbour.example",)

    @task(3)
    def finance(self) -> None:
        self.page("/finance/", "finance page")

    @task(1)
    def quote(self) -> None:
        self.page(f"/pricing/quote?{random.choice(TARGETS['quotes'])}", "pricing quote")
