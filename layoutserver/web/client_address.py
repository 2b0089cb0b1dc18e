"""The reader's own address, also behind a load balancer: the connecting address, or, when that is
one of ``TRUSTED_PROXIES``, the right-most ``X-Forwarded-For`` entry that is not a trusted proxy.

Why not werkzeug's ``ProxyFix``: it trusts a fixed *count* of hops (``x_for=1`` takes the last
entry) whoever connected. A request that reaches a host without passing the load balancer (another
route, a health-check port, a second proxy tier on some routes only) then has its forged header
believed; and it rewrites ``REMOTE_ADDR`` for the whole app. Trusting proxies by *address* holds
however many of them a request crossed, and a header from anyone else is never read. The
left-most entry is never taken: it is whatever the client chose to send.

An IPv6 client is keyed on its /64: one subscriber routinely has a whole /64 and could otherwise
take a new address for every attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from flask import Request

Network = IPv4Network | IPv6Network
IPV6_CLIENT_PREFIX = 64


def client_address(request: Request, trusted_proxies: Sequence[Network]) -> str:
    """The client of ``request`` as a stable key: an IPv4 address, or an IPv6 /64 network."""
    remote = _parse(request.remote_addr or "")
    if remote is None:
        return request.remote_addr or ""
    nearest = remote
    if _trusted(nearest, trusted_proxies):
        for entry in reversed(_forwarded_for(request)):
            hop = _parse(entry)
            if hop is None:  # written by a trusted proxy, so misconfigured: keep that proxy
                break
            nearest = hop
            if not _trusted(hop, trusted_proxies):
                break
    return _key(nearest)


def _forwarded_for(request: Request) -> list[str]:
    """Every entry of every ``X-Forwarded-For`` header, in order (a proxy may add a header
    rather than extend the last one)."""
    return [entry.strip() for header in request.headers.getlist("X-Forwarded-For")
            for entry in header.split(",") if entry.strip()]


def _parse(text: str) -> IPv4Address | IPv6Address | None:
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPv4Address | IPv6Address, trusted_proxies: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network
               for network in trusted_proxies)


def _key(address: IPv4Address | IPv6Address) -> str:
    if isinstance(address, IPv6Address):
        return str(IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))
    return str(address)
