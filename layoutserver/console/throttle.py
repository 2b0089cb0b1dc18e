"""Slowing down password guessing without letting anyone lock a user out.

Attempts are keyed on the pair (account name as typed, client address: see
``layoutserver.web.client_address``). Every attempt a pair is let through counts as a failure
until a sign-in succeeds, which clears the pair: counting before the password is checked means
that concurrent requests cannot slip extra guesses past the count. After ``free_failures``
failures the pair waits before its next attempt, 1 s, then 2, 4, ... up to ``max_delay``; a pair
quiet for ``forget_after`` starts afresh. A waiting pair is refused without its password being
checked.

Nothing is ever refused for an account as a whole: that is the lockout an attacker could turn
against its user. When ``attack_clients`` different clients have failed for one account within
``attack_window`` (guessing spread over many addresses), each client of that account gets one
free attempt instead of ``free_failures``. The real user, from an address of their own, is
therefore never refused their first attempt, and what they wait after a typo grows with their own
typos only: the attack costs them at most their spare free tries.

Where the count is kept: in Redis when ``REDIS_URL`` is set, so that every worker of every host
shares it (in-process counts would give an attacker each worker's allowance, on every host);
otherwise in the process's memory, where each gunicorn worker counts on its own (a pair then gets
up to workers x ``free_failures`` free attempts, and the delays grow as fast in each worker).
While Redis is unreachable the process's own count stands in. No database table: a failed
sign-in would then write to the database, and the counts are short-lived by nature.

Why not Flask-Limiter: it limits a rate (so many requests per period) per key. What this needs is
a delay that grows with a pair's consecutive failures and is cleared by a success, plus the
account-wide attack mode above; expressing that with fixed rate limits means either a lockout
(a low per-account limit) or little protection (a high one).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from flask import Flask

from layoutserver.redis_store import ERRORS, RedisStore, get_redis

Clock = Callable[[], float]
"""Seconds since the epoch: wall time, because a shared count is read by many hosts."""


@dataclass(frozen=True)
class Policy:
    free_failures: int = 5
    first_delay: float = 1.0
    max_delay: float = 15 * 60.0
    forget_after: float = 24 * 3600.0
    attack_clients: int = 10
    attack_window: float = 3600.0

    def delay(self, failures: int, under_attack: bool) -> float:
        """Seconds a pair with ``failures`` waits after its last attempt."""
        free = 1 if under_attack else self.free_failures
        if failures < free:
            return 0.0
        return min(self.first_delay * 2.0 ** min(failures - free, 64), self.max_delay)

    def delays(self, under_attack: bool) -> list[float]:
        """:meth:`delay` for 0, 1, ... failures, up to the first that reaches ``max_delay``."""
        table = [self.delay(0, under_attack)]
        while table[-1] < self.max_delay:
            table.append(self.delay(len(table), under_attack))
        return table


class Throttle(Protocol):
    clock: Clock

    def attempt(self, account: str, client: str) -> float:
        """0 when ``client`` may try ``account`` now (the try is then counted as a failure until
        :meth:`succeeded`); else the seconds it must wait, the try not counted."""

    def succeeded(self, account: str, client: str) -> None:
        """``client`` signed in to ``account``: its failures are forgotten."""


MAX_PAIRS = 10_000
MAX_CLIENTS_PER_ACCOUNT = 1_000


class MemoryThrottle:
    """The count in this process's memory, bounded to ``MAX_PAIRS`` pairs."""

    def __init__(self, policy: Policy | None = None, clock: Clock = time.time) -> None:
        self.policy = policy or Policy()
        self.clock = clock
        self._pairs: dict[tuple[str, str], tuple[int, float]] = {}  # failures, last attempt
        self._clients: dict[str, dict[str, float]] = {}  # account: client: last attempt
        self._lock = threading.Lock()

    def attempt(self, account: str, client: str) -> float:
        now = self.clock()
        with self._lock:
            failures, last = self._pairs.get((account, client), (0, now))
            if now - last >= self.policy.forget_after:
                failures = 0
            clients = self._recent_clients(account, now)
            under_attack = len(clients) >= self.policy.attack_clients
            wait = last + self.policy.delay(failures, under_attack) - now
            if wait > 0:
                return wait
            self._pairs[account, client] = (failures + 1, now)
            if len(clients) < MAX_CLIENTS_PER_ACCOUNT:
                clients[client] = now
            if len(self._pairs) > MAX_PAIRS:
                self._forget_some()
            return 0.0

    def succeeded(self, account: str, client: str) -> None:
        with self._lock:
            self._pairs.pop((account, client), None)
            self._clients.get(account, {}).pop(client, None)

    def _recent_clients(self, account: str, now: float) -> dict[str, float]:
        clients = self._clients.setdefault(account, {})
        for client, last in list(clients.items()):
            if last <= now - self.policy.attack_window:
                del clients[client]
        return clients

    def _forget_some(self) -> None:
        """Drop the tenth of the pairs with the fewest failures: pairs made up to flush the
        memory have one failure each, so a pair that is being slowed down stays."""
        doomed = sorted(self._pairs, key=lambda key: self._pairs[key])[: MAX_PAIRS // 10]
        for key in doomed:
            del self._pairs[key]
        now = self.clock()
        for account in list(self._clients):
            if not self._recent_clients(account, now):
                del self._clients[account]


_ATTEMPT = """
local now = tonumber(ARGV[1])
local forget_after = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local attack_clients = tonumber(ARGV[4])
local steps = tonumber(ARGV[6])
local pair = redis.call('HMGET', KEYS[1], 'failures', 'last')
local failures = tonumber(pair[1]) or 0
local last = tonumber(pair[2]) or now
if now - last >= forget_after then failures = 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
local offset = 6
if redis.call('ZCARD', KEYS[2]) >= attack_clients then offset = 6 + steps end
local wait = last + tonumber(ARGV[offset + math.min(failures, steps - 1) + 1]) - now
if wait > 0 then return tostring(wait) end
redis.call('HSET', KEYS[1], 'failures', failures + 1, 'last', ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(forget_after))
redis.call('ZADD', KEYS[2], now, ARGV[5])
redis.call('EXPIRE', KEYS[2], math.ceil(window))
return '0'
"""
"""The pair's hash (failures, last attempt) and the account's sorted set of clients by last
attempt, checked and counted in one step. ARGV: now, forget_after, attack_window,
attack_clients, client, then the delay tables (normal, under attack) of equal length."""


class RedisThrottle:
    """The count in Redis, shared by every worker and host; ``fallback`` while it fails."""

    def __init__(self, store: RedisStore, policy: Policy | None = None,
                 clock: Clock = time.time) -> None:
        self.store = store
        self.policy = policy or Policy()
        self.clock = clock
        self.fallback = MemoryThrottle(self.policy, lambda: self.clock())
        self._attempt = store.client.register_script(_ATTEMPT)
        normal, attacked = self.policy.delays(False), self.policy.delays(True)
        steps = max(len(normal), len(attacked))
        self._tables = [*_padded(normal, steps), *_padded(attacked, steps)]

    def attempt(self, account: str, client: str) -> float:
        if not self.store.breaker.closed():
            return self.fallback.attempt(account, client)
        policy = self.policy
        try:
            wait = self._attempt(keys=self._keys(account, client), args=[
                repr(self.clock()), policy.forget_after, policy.attack_window,
                policy.attack_clients, client, len(self._tables) // 2, *self._tables])
        except ERRORS as error:
            self.store.breaker.trip(error)
            return self.fallback.attempt(account, client)
        return float(wait)

    def succeeded(self, account: str, client: str) -> None:
        self.fallback.succeeded(account, client)
        if not self.store.breaker.closed():
            return
        pair_key, account_key = self._keys(account, client)
        try:
            with self.store.client.pipeline() as pipeline:
                pipeline.delete(pair_key)
                pipeline.zrem(account_key, client)
                pipeline.execute()
        except ERRORS as error:
            self.store.breaker.trip(error)

    def _keys(self, account: str, client: str) -> list[str]:
        """Digests, not names: a name is any text a form sent, of any length."""
        prefix = f"{self.store.prefix}sign-in:"
        return [f"{prefix}pair:{_digest(account, client)}", f"{prefix}account:{_digest(account)}"]


def _padded(table: list[float], steps: int) -> list[float]:
    return table + [table[-1]] * (steps - len(table))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def build_throttle(app: Flask) -> Throttle:
    """Shared through Redis when the app has one, else in this process."""
    store = get_redis(app)
    return RedisThrottle(store) if store is not None else MemoryThrottle()
