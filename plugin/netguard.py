"""Refuse outgoing requests to private, loopback and link-local addresses (server-side request forgery).

A merchant types a supplier feed URL (and later a store URL); our server then fetches it. Without
this check, a URL like http://169.254.169.254/ or http://10.0.0.5:6379/ would make the app probe
its own network for whoever can log in to a shop. Every address the host name resolves to must be
public; redirects are checked hop by hop by the caller. In development (the demo's feeds are
served by the app itself on 127.0.0.1) and in tests, `allow_private` lifts the rule.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class PrivateAddress(ValueError):
    """The URL leads to an address that is not on the public internet."""


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_public_url(url: str, *, allow_private: bool = False, what: str = "the URL") -> None:
    """Raise PrivateAddress unless every address of the URL's host is public (or private is allowed).

    A host that does not resolve is left to the request itself, which reports it in its own words.
    """
    if allow_private:
        return
    parts = urlsplit(url)
    host = (parts.hostname or "").strip("[]")
    if not host:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        return
    for info in infos:
        if not is_public_address(info[4][0]):
            raise PrivateAddress(f"{what} points to a private or local network address ({host}); "
                                 "only addresses on the public internet can be fetched")
