"""The guard's rules, as pure functions (standard library only, no MLflow, no Flask).

Hosts (``MLFLOW_ALLOWED_HOSTS``, comma-separated), each entry one of:

- ``name`` or ``address``: that host on any port (``localhost``, ``127.0.0.1``, ``[::1]``);
- ``name:port``: that host on that port only (``mlflow:5000``);
- ``*.example.com``: any sub-domain of example.com, on any port (not example.com itself);
  ``*.example.com:443`` the same on one port;
- ``*``: any host (turns the Host check off; for a server behind a proxy that checks it).

Origins (``MLFLOW_CORS_ALLOWED_ORIGINS``, comma-separated): exact ``scheme://host[:port]``
(``https://ui.example.com``), or ``https://*.example.com`` for its sub-domains.

Unset or empty: the hosts of :data:`DEFAULT_ALLOWED_HOSTS`, and no cross-origin request at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

HOSTS_VARIABLE = "MLFLOW_ALLOWED_HOSTS"
ORIGINS_VARIABLE = "MLFLOW_CORS_ALLOWED_ORIGINS"
DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "[::1]")
# Requests a browser sends cross-origin without asking first (a form can POST): refused when
# their Origin is neither this server's nor allowed.
STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Answered whatever the Host: the load balancer's and the container's health checks reach the
# task by its address (ALB health checks carry the target's IP as Host). It reveals nothing.
HOST_CHECK_EXEMPT_PATHS = frozenset({"/health"})

_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_PORT = re.compile(r"^[0-9]{1,5}$")


class ConfigurationError(ValueError):
    """An allow-list entry that cannot be understood (the server refuses to start)."""


@dataclass(frozen=True)
class HostPattern:
    """One entry of the host allow-list: ``name`` (or ``*.suffix``) and an optional port."""

    name: str
    port: str | None = None
    wildcard: bool = False

    def matches(self, name: str, port: str | None) -> bool:
        """Whether the Host ``name[:port]`` (already split and lower-cased) is admitted."""
        if self.port is not None and port != self.port:
            return False
        if self.wildcard:
            return name.endswith("." + self.name)
        return name == self.name


# pylint: disable-next=too-many-return-statements
def split_host(value: str) -> tuple[str, str | None] | None:
    """``(name, port)`` of a Host header (lower-cased, trailing dot dropped), None if invalid."""
    value = value.strip().lower()
    if not value or any(char.isspace() for char in value) or "@" in value or "/" in value:
        return None
    if value.startswith("["):  # IPv6 literal: [::1] or [::1]:5000
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[: end + 1], value[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port = rest[1:] if rest else None
    elif value.count(":") == 1:
        name, port = value.split(":")
    elif ":" in value:
        return None
    else:
        name, port = value, None
    if port is not None and not _PORT.match(port):
        return None
    name = name.rstrip(".") if not name.startswith("[") else name
    if not name:
        return None
    return name, port


def _valid_name(name: str) -> bool:
    if name.startswith("[") and name.endswith("]"):
        return len(name) > 2 and all(char in "0123456789abcdef:." for char in name[1:-1])
    return all(_LABEL.match(label) for label in name.split("."))


def parse_host_pattern(entry: str) -> HostPattern:
    """One allow-list entry; :class:`ConfigurationError` naming it when it is not valid."""
    text = entry.strip().lower()
    wildcard = text.startswith("*.")
    parts = split_host(text[2:] if wildcard else text)
    if parts is None or not _valid_name(parts[0]):
        raise ConfigurationError(
            f"{HOSTS_VARIABLE}: {entry!r} is not a host, host:port or *.domain entry"
        )
    name, port = parts
    return HostPattern(name=name, port=port, wildcard=wildcard)


def _entries(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


@dataclass(frozen=True)
class HostAllowList:
    """The hosts a request may name; ``any_host`` when the list holds ``*``."""

    patterns: tuple[HostPattern, ...]
    any_host: bool = False

    @classmethod
    def parse(cls, value: str | None) -> "HostAllowList":
        """From the variable's value; unset or empty gives :data:`DEFAULT_ALLOWED_HOSTS`."""
        entries = _entries(value) or list(DEFAULT_ALLOWED_HOSTS)
        if "*" in entries:
            return cls(patterns=(), any_host=True)
        return cls(patterns=tuple(parse_host_pattern(entry) for entry in entries))

    def allows(self, host_header: str | None) -> bool:
        """Whether a request with this Host header (None: absent) is admitted."""
        if self.any_host:
            return True
        parts = split_host(host_header or "")
        if parts is None:
            return False
        return any(pattern.matches(*parts) for pattern in self.patterns)

    def describe(self) -> str:
        """The list as configured, for the server's log."""
        if self.any_host:
            return "*"
        return ",".join(
            ("*." if p.wildcard else "") + p.name + (f":{p.port}" if p.port else "")
            for p in self.patterns
        )


def normalise_origin(value: str) -> str | None:
    """``scheme://host[:port]`` lower-cased (default ports dropped), None if not an origin."""
    text = value.strip()
    if not text or text.lower() == "null":
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    if port is None or (parts.scheme, port) in (("http", 80), ("https", 443)):
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


@dataclass(frozen=True)
class OriginAllowList:
    """Origins that may call the server cross-origin (exact, or ``scheme://*.domain``)."""

    exact: frozenset[str]
    suffixes: tuple[tuple[str, str, str | None], ...] = ()  # (scheme, ".domain", port)

    @classmethod
    def parse(cls, value: str | None) -> "OriginAllowList":
        """From the variable's value; unset or empty allows no cross-origin request."""
        exact, suffixes = set(), []
        for entry in _entries(value):
            scheme, sep, rest = entry.strip().lower().partition("://")
            if sep and rest.startswith("*."):
                pattern = parse_host_pattern(rest)  # validates the domain (and port)
                if scheme in ("http", "https") and pattern.wildcard:
                    suffixes.append((scheme, "." + pattern.name, pattern.port))
                    continue
            origin = normalise_origin(entry)
            if origin is None:
                raise ConfigurationError(
                    f"{ORIGINS_VARIABLE}: {entry!r} is not an origin (scheme://host[:port])"
                )
            exact.add(origin)
        return cls(exact=frozenset(exact), suffixes=tuple(suffixes))

    def allows(self, origin_header: str | None) -> bool:
        """Whether a request carrying this Origin header may be served cross-origin."""
        origin = normalise_origin(origin_header or "")
        if origin is None:
            return False
        if origin in self.exact:
            return True
        scheme, _, netloc = origin.partition("://")
        parts = split_host(netloc)
        if parts is None:
            return False
        name, port = parts
        return any(
            scheme == s and name.endswith(suffix) and (p is None or p == port)
            for s, suffix, p in self.suffixes
        )

    def describe(self) -> str:
        """The list as configured, for the server's log."""
        wild = [f"{s}://*{suffix}" + (f":{p}" if p else "") for s, suffix, p in self.suffixes]
        return ",".join(sorted(self.exact) + wild) or "(none: same origin only)"


def is_same_origin(origin_header: str | None, host_header: str | None) -> bool:
    """Whether the Origin names the host the request was sent to (the MLflow UI's own calls).

    Only host and port are compared: behind a load balancer that ends TLS, the page is https
    while the request reaches the server as http.
    """
    origin = normalise_origin(origin_header or "")
    host = split_host(host_header or "")
    if origin is None or host is None:
        return False
    origin_host = split_host(origin.partition("://")[2])
    if origin_host is None:
        return False
    if origin_host[0] != host[0]:
        return False
    if origin_host[1] == host[1]:
        return True
    # A default port is left out of Origin but may be written in Host, and the other way round.
    return {origin_host[1], host[1]} in ({None, "80"}, {None, "443"})


@dataclass(frozen=True)
class Decision:
    """What the guard does with a request: refuse it (status and reason) or pass it on."""

    status: int | None = None  # 403, or 204 for an answered preflight; None: pass to MLflow
    reason: str = ""
    allow_origin: str | None = None  # the Access-Control-Allow-Origin to send


ALLOWED = Decision()


def decide(  # pylint: disable=too-many-arguments,too-many-positional-arguments,too-many-return-statements
    hosts: HostAllowList,
    origins: OriginAllowList,
    method: str,
    path: str,
    host_header: str | None,
    origin_header: str | None,
    preflight_method: str | None = None,
) -> Decision:
    """The decision for one request (method upper-case; preflight_method from
    Access-Control-Request-Method)."""
    method = method.upper()
    exempt = method in ("GET", "HEAD") and path in HOST_CHECK_EXEMPT_PATHS
    if not exempt and not hosts.allows(host_header):
        return Decision(403, "the Host header is not allowed by this MLflow server")
    if origin_header is None:
        return ALLOWED  # not a cross-origin browser request (API clients, same-origin GETs)
    if is_same_origin(origin_header, host_header):
        return ALLOWED
    if origins.allows(origin_header):
        allow = origin_header.strip()
        if method == "OPTIONS" and preflight_method:
            return Decision(204, "preflight", allow_origin=allow)
        return Decision(None, "", allow_origin=allow)
    if method == "OPTIONS":
        return Decision(403, "cross-origin requests from this origin are not allowed")
    if method in STATE_CHANGING_METHODS:
        return Decision(403, "cross-origin requests from this origin are not allowed")
    return ALLOWED  # a cross-origin GET: served without CORS headers, so a page cannot read it
