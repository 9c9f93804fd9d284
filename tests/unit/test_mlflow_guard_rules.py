"""mlflow-guard's allow-lists and decisions (pure functions) and its WSGI wrapper, without a
server: the real MLflow server behind the guard is tested in
tests/reliability/test_security_mlflow_guard.py."""

from __future__ import annotations

import importlib
import sys

import pytest

from machine_learning.config import PROJECT_ROOT

# mlflow-guard is installed in .venv-servers, not in .venv: import it from its folder. Its rules
# and middleware use the standard library only.
sys.path.insert(0, str(PROJECT_ROOT / "mlflow-guard"))
rules = importlib.import_module("mlflow_guard.rules")
middleware = importlib.import_module("mlflow_guard.middleware")


@pytest.mark.parametrize(
    "header, expected",
    [
        ("127.0.0.1:5000", ("127.0.0.1", "5000")),
        ("LocalHost", ("localhost", None)),
        ("mlflow.example.com.:443", ("mlflow.example.com", "443")),
        ("[::1]:5000", ("[::1]", "5000")),
        ("[::1]", ("[::1]", None)),
        ("", None),
        ("a b", None),
        ("host:port", None),
        ("host:5000:1", None),
        ("::1", None),
        ("[::1", None),
        ("[::1]x", None),
        ("user@host", None),
        ("host/path", None),
        (":5000", None),
    ],
)
def test_a_host_header_is_split_into_name_and_port_or_refused(header, expected):
    assert rules.split_host(header) == expected


def test_by_default_only_loopback_names_are_allowed_on_any_port():
    hosts = rules.HostAllowList.parse(None)
    assert rules.HostAllowList.parse("") == rules.HostAllowList.parse(" , ") == hosts
    for header in ("127.0.0.1:5000", "localhost:5001", "LOCALHOST", "[::1]:5000", "127.0.0.1"):
        assert hosts.allows(header), header
    for header in (
        "evil.example",
        "evil.example:5000",
        "127.0.0.1.evil.example",
        "localhost.evil.example:5000",
        "127.0.0.2:5000",
        "0.0.0.0:5000",
        "",
        None,
    ):
        assert not hosts.allows(header), header


def test_host_entries_with_a_port_admit_that_port_only():
    hosts = rules.HostAllowList.parse("mlflow:5000, localhost")
    assert hosts.allows("mlflow:5000")
    assert not hosts.allows("mlflow:5001")
    assert not hosts.allows("mlflow")
    assert hosts.allows("localhost:1234")
    assert not hosts.allows("127.0.0.1:5000")  # the list replaces the defaults


def test_wildcard_entries_admit_sub_domains_not_the_domain_nor_look_alikes():
    hosts = rules.HostAllowList.parse("*.example.com,*.internal:5000")
    assert hosts.allows("mlflow.example.com")
    assert hosts.allows("a.b.example.com:443")
    assert not hosts.allows("example.com")
    assert not hosts.allows("evilexample.com")
    assert not hosts.allows("example.com.evil.net")
    assert hosts.allows("mlflow.gaming-engagement.internal:5000")
    assert not hosts.allows("mlflow.gaming-engagement.internal:5001")
    assert hosts.describe() == "*.example.com,*.internal:5000"


def test_a_star_turns_the_host_check_off():
    hosts = rules.HostAllowList.parse("localhost,*")
    assert hosts.any_host and hosts.allows("anything.example") and hosts.allows(None)


@pytest.mark.parametrize(
    "entry", ["http://mlflow", "mlflow/", "*", "**.example.com", "a:b", "a_b c"]
)
def test_an_invalid_host_entry_stops_the_server_naming_it(entry):
    value = f"localhost,{entry}" if entry != "*" else "*.*"
    with pytest.raises(rules.ConfigurationError, match="MLFLOW_ALLOWED_HOSTS"):
        rules.HostAllowList.parse(value)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("http://UI.example:3000", "http://ui.example:3000"),
        ("https://ui.example:443", "https://ui.example"),
        ("http://ui.example:80/", "http://ui.example"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("null", None),
        ("", None),
        ("ftp://ui.example", None),
        ("ui.example", None),
        ("http://ui.example/path", None),
        ("http://user@ui.example", None),
        ("http://ui.example:99999", None),
    ],
)
def test_origins_are_normalised_or_refused(value, expected):
    assert rules.normalise_origin(value) == expected


def test_no_origin_is_allowed_by_default():
    origins = rules.OriginAllowList.parse(None)
    assert not origins.allows("http://127.0.0.1:5000")
    assert not origins.allows("http://evil.example")
    assert origins.describe() == "(none: same origin only)"


def test_allowed_origins_are_exact_or_sub_domain_wildcards():
    origins = rules.OriginAllowList.parse("http://ui.example:3000, https://*.corp.example")
    assert origins.allows("http://ui.example:3000")
    assert origins.allows("HTTP://UI.EXAMPLE:3000")
    assert not origins.allows("https://ui.example:3000")  # another scheme is another origin
    assert not origins.allows("http://ui.example:3001")
    assert not origins.allows("http://ui.example")
    assert origins.allows("https://dash.corp.example")
    assert not origins.allows("http://dash.corp.example")
    assert not origins.allows("https://corp.example")
    assert not origins.allows("https://evilcorp.example")
    assert not origins.allows("null")
    assert not origins.allows(None)


@pytest.mark.parametrize("entry", ["ui.example", "http://ui.example/app", "*", "null"])
def test_an_invalid_origin_entry_stops_the_server_naming_it(entry):
    with pytest.raises(rules.ConfigurationError, match="MLFLOW_CORS_ALLOWED_ORIGINS"):
        rules.OriginAllowList.parse(entry)


@pytest.mark.parametrize(
    "origin, host, same",
    [
        ("http://127.0.0.1:5000", "127.0.0.1:5000", True),
        ("https://mlflow.example.com", "mlflow.example.com", True),
        ("https://mlflow.example.com:5000", "mlflow.example.com:5000", True),  # TLS ended before
        ("http://mlflow.example.com", "mlflow.example.com:80", True),
        ("http://127.0.0.1:5001", "127.0.0.1:5000", False),
        ("http://evil.example", "127.0.0.1:5000", False),
        ("null", "127.0.0.1:5000", False),
        ("http://127.0.0.1:5000", None, False),
    ],
)
def test_same_origin_compares_host_and_port(origin, host, same):
    assert rules.is_same_origin(origin, host) is same


HOSTS = rules.HostAllowList.parse("127.0.0.1,localhost,mlflow:5000")
ORIGINS = rules.OriginAllowList.parse("http://ui.example:3000")
API = "/api/2.0/mlflow/experiments/create"


def _decide(method, host, origin=None, path=API, preflight=None):
    return rules.decide(HOSTS, ORIGINS, method, path, host, origin, preflight)


def test_decisions_on_the_host():
    assert _decide("GET", "127.0.0.1:5000") == rules.ALLOWED
    assert _decide("POST", "mlflow:5000") == rules.ALLOWED
    assert _decide("GET", "evil.example").status == 403
    assert _decide("GET", None).status == 403
    # Health checks reach the task by its address (load balancer) and reveal nothing.
    assert _decide("GET", "10.0.3.17:5000", path="/health") == rules.ALLOWED
    assert _decide("POST", "10.0.3.17:5000", path="/health").status == 403
    assert _decide("GET", "10.0.3.17:5000", path="/health/x").status == 403


def test_decisions_on_the_origin():
    ui = "http://ui.example:3000"
    evil = "http://evil.example"
    preflight = _decide("OPTIONS", "127.0.0.1:5000", ui, preflight="POST")
    assert (preflight.status, preflight.allow_origin) == (204, ui)
    assert _decide("POST", "127.0.0.1:5000", ui) == rules.Decision(None, "", allow_origin=ui)
    assert _decide("OPTIONS", "127.0.0.1:5000", evil, preflight="POST").status == 403
    assert _decide("OPTIONS", "127.0.0.1:5000", evil).status == 403
    for method in ("POST", "PUT", "PATCH", "DELETE", "post"):
        decision = _decide(method, "127.0.0.1:5000", evil)
        assert decision.status == 403 and decision.allow_origin is None, method
    # A cross-origin GET is served without CORS headers: the page cannot read the answer.
    assert _decide("GET", "127.0.0.1:5000", evil) == rules.ALLOWED
    # The MLflow UI's own POSTs carry its origin (same origin): served as usual.
    assert _decide("POST", "127.0.0.1:5000", "http://127.0.0.1:5000") == rules.ALLOWED
    # The host check comes first: a rebinding page is refused whatever its origin.
    assert _decide("POST", "evil.example:5000", "http://evil.example:5000").status == 403


def _call(app, method="GET", path=API, **headers):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path}
    environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(response_headers)
        assert exc_info is None

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


def _inner(environ, start_response):
    environ["mlflow.called"] = True
    start_response("200 OK", [("Content-Type", "application/json"), ("X-Inner", "1")])
    return [b"{}"]


def test_the_middleware_refuses_answers_preflights_and_adds_cors_headers():
    guard = middleware.GuardMiddleware.from_environment(
        _inner,
        {"MLFLOW_ALLOWED_HOSTS": "127.0.0.1", "MLFLOW_CORS_ALLOWED_ORIGINS": "http://ui.example"},
    )
    status, headers, body = _call(guard, host="evil.example")
    assert status == "403 Forbidden" and b"Host header is not allowed" in body
    assert headers["Content-Type"].startswith("text/plain")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "Access-Control-Allow-Origin" not in headers

    status, headers, body = _call(
        guard,
        "OPTIONS",
        host="127.0.0.1:5000",
        origin="http://ui.example",
        access_control_request_method="POST",
        access_control_request_headers="content-type",
    )
    assert status.startswith("204") and body == b""
    assert headers["Access-Control-Allow-Origin"] == "http://ui.example"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert headers["Access-Control-Allow-Headers"] == "content-type"

    status, headers, body = _call(guard, "POST", host="127.0.0.1:5000", origin="http://ui.example")
    assert status == "200 OK" and body == b"{}" and headers["X-Inner"] == "1"
    assert headers["Access-Control-Allow-Origin"] == "http://ui.example"
    assert headers["Vary"] == "Origin"

    status, headers, body = _call(
        guard, "POST", host="127.0.0.1:5000", origin="http://evil.example"
    )
    assert status == "403 Forbidden" and b"cross-origin" in body

    status, headers, _ = _call(guard, "POST", host="127.0.0.1:5000")
    assert status == "200 OK" and "Access-Control-Allow-Origin" not in headers
