"""The WSGI wrapper that applies :func:`mlflow_guard.rules.decide` to every request."""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable, Mapping

from mlflow_guard.rules import (
    HOSTS_VARIABLE,
    ORIGINS_VARIABLE,
    HostAllowList,
    OriginAllowList,
    decide,
)

_LOGGER = logging.getLogger("mlflow_guard")

ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
DEFAULT_ALLOWED_HEADERS = "Content-Type, Authorization"
PREFLIGHT_MAX_AGE = "600"

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


class GuardMiddleware:
    """Host-header validation and CORS around a WSGI application (MLflow's Flask app)."""

    def __init__(self, app: WsgiApp, hosts: HostAllowList, origins: OriginAllowList):
        self.app = app
        self.hosts = hosts
        self.origins = origins

    @classmethod
    def from_environment(cls, app: WsgiApp, environ: Mapping[str, str]) -> "GuardMiddleware":
        """The allow-lists of ``MLFLOW_ALLOWED_HOSTS`` / ``MLFLOW_CORS_ALLOWED_ORIGINS``."""
        return cls(
            app,
            HostAllowList.parse(environ.get(HOSTS_VARIABLE)),
            OriginAllowList.parse(environ.get(ORIGINS_VARIABLE)),
        )

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST")
        origin = environ.get("HTTP_ORIGIN")
        decision = decide(
            self.hosts,
            self.origins,
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", "/"),
            host,
            origin,
            environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
        )
        if decision.status == 403:
            _LOGGER.warning(
                "refused %s %s: %s (Host %r, Origin %r)",
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
                decision.reason,
                host,
                origin,
            )
            return _plain(start_response, "403 Forbidden", f"Forbidden: {decision.reason}.\n")
        if decision.status == 204:
            requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
            start_response(
                "204 No Content",
                [
                    ("Access-Control-Allow-Origin", decision.allow_origin or ""),
                    ("Access-Control-Allow-Methods", ALLOWED_METHODS),
                    ("Access-Control-Allow-Headers", requested or DEFAULT_ALLOWED_HEADERS),
                    ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE),
                    ("Vary", "Origin"),
                    ("Content-Length", "0"),
                ],
            )
            return [b""]
        if decision.allow_origin is None:
            return self.app(environ, start_response)

        def start_with_cors(status: str, headers: list, exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            kept += [("Access-Control-Allow-Origin", decision.allow_origin), ("Vary", "Origin")]
            return start_response(status, kept, exc_info)

        return self.app(environ, start_with_cors)


def _plain(start_response: Callable, status: str, text: str) -> list[bytes]:
    body = text.encode("utf-8")
    start_response(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("X-Content-Type-Options", "nosniff"),
            ("Vary", "Origin"),
        ],
    )
    return [body]
