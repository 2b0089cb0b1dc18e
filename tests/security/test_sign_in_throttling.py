"""Sign-in throttling (issue 17): keyed on the account and the reader's own address, growing
delays, no lockout an attacker could turn against a user; the same through Redis and in memory.
Time is a fake clock: no test sleeps through a delay."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from ipaddress import ip_network
from typing import Any

import pytest
from flask import Config, Flask, Request
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash
from werkzeug.test import EnvironBuilder, TestResponse

from layoutserver.auth.models import User
from layoutserver.console.sign_in import THROTTLE_KEY
from layoutserver.console.throttle import MemoryThrottle, Policy, RedisThrottle
from layoutserver.db import get_database
from layoutserver.settings import SettingsError, load_settings
from layoutserver.web.client_address import client_address

PASSWORD = "correct horse battery"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PROXY = "10.0.0.2"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "memory":
        return {"REDIS_URL": ""}
    settings: dict[str, Any] = request.getfixturevalue("redis_settings")
    return settings


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(make_app: Callable[..., Flask], backend: dict[str, Any], clock: FakeClock) -> Flask:
    app = make_app(settings={"SECRET_KEY": "throttle-test", "TRUSTED_PROXIES": ["10.0.0.0/8"],
                             **backend}, demo=False)
    with get_database(app).session() as session:  # a cheap hash: signing in is the real path
        session.add(User(name="alice", role="viewer", created_at=datetime.now(UTC),
                         password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000")))
    throttle = app.extensions[THROTTLE_KEY]
    assert isinstance(throttle, RedisThrottle if backend["REDIS_URL"] else MemoryThrottle)
    throttle.clock = clock
    return app


class Reader:
    """A browser at ``address`` (what the server sees connecting), optionally through a proxy
    that sends ``forwarded_for``."""

    def __init__(self, app: Flask, address: str, forwarded_for: str | None = None) -> None:
        self.app = app
        self.address = address
        self.forwarded_for = forwarded_for

    def sign_in(self, password: str, name: str = "alice",
                forwarded_for: str | None = None) -> TestResponse:
        """One sign-in from a fresh browser session (so a success leaves nothing behind)."""
        client: FlaskClient = self.app.test_client()
        client.environ_base["REMOTE_ADDR"] = self.address
        forwarded = forwarded_for or self.forwarded_for
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        token = TOKEN.search(client.get("/admin/sign-in").get_data(as_text=True))
        assert token is not None
        return client.post("/admin/sign-in", headers=headers, data={
            "name": name, "password": password, "csrf_token": token.group(1)})


def fail_until_throttled(reader: Reader, **kwargs: Any) -> TestResponse:
    for _ in range(Policy().free_failures):
        assert reader.sign_in("guess", **kwargs).status_code == 401
    response = reader.sign_in("guess", **kwargs)
    assert response.status_code == 429
    return response


def error_shown(response: TestResponse) -> str:
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.get_data(as_text=True))
    assert found is not None
    return found.group(1)


def retry_after(response: TestResponse) -> int:
    return int(response.headers["Retry-After"])


def test_a_throttled_attempt_says_how_long_to_wait_and_does_not_check_the_password(
    app: Flask,
) -> None:
    reader = Reader(app, "203.0.113.5")
    fail_until_throttled(reader)
    response = reader.sign_in(PASSWORD)
    assert response.status_code == 429
    assert retry_after(response) == 1
    assert "Too many failed sign-ins from here: try again in 1 second." in \
        response.get_data(as_text=True)
    assert 'name="password"' in response.get_data(as_text=True)  # the form, to try again


def test_the_same_answer_whether_the_account_exists_or_not(app: Flask) -> None:
    known = fail_until_throttled(Reader(app, "203.0.113.5"))
    unknown = fail_until_throttled(Reader(app, "203.0.113.6"), name="nobody")
    assert error_shown(known) == error_shown(unknown)
    assert retry_after(known) == retry_after(unknown)


def test_delays_grow_with_each_failure_up_to_the_cap(app: Flask, clock: FakeClock) -> None:
    reader = Reader(app, "203.0.113.5")
    waits = [retry_after(fail_until_throttled(reader))]
    for _ in range(12):
        clock.now += waits[-1]
        assert reader.sign_in("guess").status_code == 401
        response = reader.sign_in("guess")
        assert response.status_code == 429
        waits.append(retry_after(response))
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    assert "try again in 15 minutes." in response.get_data(as_text=True)
    clock.now += 899
    assert reader.sign_in(PASSWORD).status_code == 429  # a second early
    clock.now += 1
    assert reader.sign_in(PASSWORD).status_code == 302


def test_a_success_clears_the_clients_failures(app: Flask, clock: FakeClock) -> None:
    reader = Reader(app, "203.0.113.5")
    clock.now += retry_after(fail_until_throttled(reader))
    assert reader.sign_in(PASSWORD).status_code == 302
    fail_until_throttled(reader)  # the free tries again, in full


def test_an_attackers_failures_do_not_delay_the_user_from_another_address(
    app: Flask, clock: FakeClock,
) -> None:
    attacker = Reader(app, "198.51.100.66")
    response = fail_until_throttled(attacker)
    for _ in range(8):
        clock.now += retry_after(response)
        assert attacker.sign_in("guess").status_code == 401
        response = attacker.sign_in("guess")
    assert retry_after(response) == 256
    assert Reader(app, "203.0.113.5").sign_in(PASSWORD).status_code == 302


def test_guessing_from_many_addresses_costs_the_user_at_most_their_spare_tries(
    app: Flask, clock: FakeClock,
) -> None:
    for number in range(Policy().attack_clients):
        assert Reader(app, f"198.51.100.{number}").sign_in("guess").status_code == 401
    late_attacker = Reader(app, "198.51.100.200")
    assert late_attacker.sign_in("guess").status_code == 401
    assert retry_after(late_attacker.sign_in("guess")) == 1  # one free try, not five
    user = Reader(app, "203.0.113.5")
    assert user.sign_in(PASSWORD).status_code == 302  # never refused a first try
    assert user.sign_in("typo").status_code == 401
    response = user.sign_in(PASSWORD)
    assert response.status_code == 429
    assert retry_after(response) == 1  # after a typo: a second, growing with their own typos
    clock.now += 1
    assert user.sign_in(PASSWORD).status_code == 302


def test_behind_a_trusted_proxy_readers_are_told_apart_by_x_forwarded_for(app: Flask) -> None:
    attacker = Reader(app, PROXY, forwarded_for="198.51.100.66")
    fail_until_throttled(attacker)
    assert Reader(app, PROXY, forwarded_for="203.0.113.5").sign_in(PASSWORD).status_code == 302


def test_a_forged_left_most_entry_does_not_escape_the_throttle(app: Flask) -> None:
    """The load balancer appends the address it saw; what the client sent stays to its left."""
    attacker = Reader(app, PROXY)
    for number in range(Policy().free_failures):
        forged = f"192.0.2.{number}, 198.51.100.66"
        assert attacker.sign_in("guess", forwarded_for=forged).status_code == 401
    assert attacker.sign_in("guess", forwarded_for="192.0.2.99, 198.51.100.66"
                            ).status_code == 429


def test_x_forwarded_for_from_an_untrusted_address_is_ignored(app: Flask) -> None:
    attacker = Reader(app, "198.51.100.66")
    for number in range(Policy().free_failures):
        assert attacker.sign_in("guess", forwarded_for=f"192.0.2.{number}").status_code == 401
    assert attacker.sign_in("guess", forwarded_for="192.0.2.99").status_code == 429


def test_an_ipv6_client_is_one_client_across_its_64(app: Flask) -> None:
    for number in range(Policy().free_failures):
        assert Reader(app, f"2001:db8:1:2::{number + 1:x}").sign_in("guess").status_code == 401
    assert Reader(app, "2001:db8:1:2:ffff::9").sign_in("guess").status_code == 429
    assert Reader(app, "2001:db8:1:3::1").sign_in(PASSWORD).status_code == 302


def test_while_redis_is_unreachable_the_process_counts(
    make_app: Callable[..., Flask], clock: FakeClock,
) -> None:
    app = make_app(settings={"SECRET_KEY": "throttle-test", "REDIS_URL":
                             "redis://127.0.0.1:1/0"}, demo=False)
    throttle = app.extensions[THROTTLE_KEY]
    assert isinstance(throttle, RedisThrottle)
    throttle.clock = clock
    for _ in range(Policy().free_failures):
        assert throttle.attempt("alice", "198.51.100.66") == 0
    assert throttle.attempt("alice", "198.51.100.66") == 1
    assert throttle.store.breaker.trips == 1


@pytest.mark.parametrize("value", ["10.0.0.0/33", ["proxy.example"], "10.0.0.1/8", 8])
def test_a_bad_trusted_proxies_setting_stops_the_start(value: object) -> None:
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        load_settings(Config("."), {"TRUSTED_PROXIES": value})


def test_trusted_proxies_may_be_a_comma_separated_string(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(settings={"TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1 ,fd00::/8"},
                   demo=False)
    assert app.config["TRUSTED_PROXIES"] == ["10.0.0.0/8", "192.168.1.1/32", "fd00::/8"]


TRUSTED = (ip_network("10.0.0.0/8"), ip_network("fd00::/8"))


@pytest.mark.parametrize(("remote", "forwarded", "client"), [
    ("198.51.100.7", "", "198.51.100.7"),
    ("198.51.100.7", "203.0.113.5", "198.51.100.7"),  # not from a trusted proxy: not read
    ("10.0.0.2", "", "10.0.0.2"),  # a trusted proxy without the header: itself
    ("10.0.0.2", "203.0.113.5", "203.0.113.5"),
    ("10.0.0.2", "192.0.2.1, 203.0.113.5, 10.9.9.9", "203.0.113.5"),  # two proxies
    ("10.0.0.2", "forged, 203.0.113.5", "203.0.113.5"),
    ("10.0.0.2", "203.0.113.5, garbage", "10.0.0.2"),  # a proxy writing nonsense: the proxy
    ("10.0.0.2", "10.1.1.1", "10.1.1.1"),  # only proxies: the farthest
    ("fd00::1", "::ffff:203.0.113.5", "203.0.113.5"),
    ("2001:db8:1:2:aaaa::1", "", "2001:db8:1:2::/64"),
])
def test_client_address(remote: str, forwarded: str, client: str) -> None:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    environ = EnvironBuilder(headers=headers, environ_base={"REMOTE_ADDR": remote}).get_environ()
    assert client_address(Request(environ), TRUSTED) == client
