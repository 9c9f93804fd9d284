"""The deployed MLflow server runs behind mlflow-guard with allow-lists that admit exactly the
names its clients use: the image installs it and the entrypoint starts it, docker-compose sets
the lists for the compose network, infrastructure/aws_prod for the load balancer and the private
DNS name. The lists are checked with the guard's own parser (mlflow-guard/mlflow_guard/rules.py).
"""

from __future__ import annotations

import importlib
import re
import sys
import tomllib
from urllib.parse import urlsplit

from deployment_helpers import DOCKER_DIR, PROJECT_ROOT, defaults, resolve_local

sys.path.insert(0, str(PROJECT_ROOT / "mlflow-guard"))
rules = importlib.import_module("mlflow_guard.rules")

GUARD_DIR = PROJECT_ROOT / "mlflow-guard"
ALB_NAME = "gaming-engagement-prod-1234567890.us-east-1.elb.amazonaws.com"


def test_the_plugin_declares_the_mlflow_app_entry_point_and_needs_nothing_else():
    project = tomllib.loads((GUARD_DIR / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"]["mlflow.app"] == {"host-guard": "mlflow_guard.app:create_app"}
    assert project["dependencies"] == []  # MLflow and Flask come from the server's environment
    for module in ("rules.py", "middleware.py"):
        source = (GUARD_DIR / "mlflow_guard" / module).read_text(encoding="utf-8")
        imported = set(re.findall(r"^(?:from|import) ([a-z_]+)", source, flags=re.M))
        assert imported <= {"__future__", "dataclasses", "logging", "re", "typing", "urllib"} | {
            "mlflow_guard"
        }, (module, imported)


def test_the_image_installs_the_guard_and_the_entrypoint_starts_with_it(images):
    mlflow = images["mlflow"]
    copies = [item.arguments for item in mlflow.of("COPY")]
    assert "mlflow-guard /tmp/mlflow-guard" in copies
    assert any(
        "pip install --no-deps /tmp/mlflow-guard" in item.arguments for item in mlflow.of("RUN")
    )
    entrypoint = (DOCKER_DIR / "mlflow" / "entrypoint.sh").read_text(encoding="utf-8")
    command = entrypoint[entrypoint.index("exec mlflow server") :]
    assert "--app-name host-guard" in command


def test_the_servers_venv_installs_the_guard():
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "$(SERVERS_VENV)/.installed: requirements-servers.txt mlflow-guard/pyproject.toml" in (
        makefile
    )
    assert "$(SERVERS_VENV)/bin/python -m pip install $(PIP_QUIET) --no-deps -e ./mlflow-guard" in (
        makefile
    )


def test_compose_allows_the_names_its_clients_use_and_no_other(services):
    environment = services["mlflow"]["environment"]
    hosts_default = defaults(environment["MLFLOW_ALLOWED_HOSTS"])["MLFLOW_ALLOWED_HOSTS"]
    origins_default = defaults(environment["MLFLOW_CORS_ALLOWED_ORIGINS"])
    assert hosts_default[0] == ":-" and origins_default["MLFLOW_CORS_ALLOWED_ORIGINS"][1] == ""
    hosts = rules.HostAllowList.parse(hosts_default[1])
    for name in ("mage", "prediction"):
        client = urlsplit(services[name]["environment"]["MLFLOW_TRACKING_URI"]).netloc
        assert hosts.allows(client), (name, client)
    published = services["mlflow"]["ports"][0].rsplit(":", 1)[1]
    for browser in (f"127.0.0.1:{published}", f"localhost:{published}", "127.0.0.1:5000"):
        assert hosts.allows(browser), browser  # the published port and the health check
    for other in ("evil.example:5000", "mlflow:5001", "minio:9000"):
        assert not hosts.allows(other), other
    assert not rules.OriginAllowList.parse("").exact


def _terraform_hosts(prod) -> list[str]:
    value = prod.locals["mlflow_allowed_hosts"]
    listed = re.search(r"concat\(\[(.*)\], var\.mlflow_allowed_hosts\)", value)
    assert listed, value
    port = str(resolve_local(prod, "${local.services}")["mlflow"]["port"])
    namespace = f"{prod.variables['project']['default']}.internal"
    hosts = re.findall(r'"([^"]+)"', listed.group(1))
    return [
        host.replace("${aws_lb.this.dns_name}", ALB_NAME)
        .replace("${local.services.mlflow.port}", port)
        .replace("${local.service_namespace}", namespace)
        for host in hosts
    ]


def test_the_mlflow_task_allows_the_load_balancer_and_its_clients_names(prod):
    environment = prod.locals["container_environment"]["mlflow"]
    assert environment["MLFLOW_ALLOWED_HOSTS"] == '${join(",", local.mlflow_allowed_hosts)}'
    assert environment["MLFLOW_CORS_ALLOWED_ORIGINS"] == (
        '${join(",", var.mlflow_cors_allowed_origins)}'
    )
    hosts = rules.HostAllowList.parse(",".join(_terraform_hosts(prod)))
    # The clients inside the VPC use local.mlflow_url; people the load balancer (mlflow_url).
    assert "mlflow.${local.service_namespace}:${local.services.mlflow.port}" in (
        prod.locals["mlflow_url"]
    )
    port = str(resolve_local(prod, "${local.services}")["mlflow"]["port"])
    namespace = f"{prod.variables['project']['default']}.internal"
    assert hosts.allows(f"mlflow.{namespace}:{port}")
    assert "${aws_lb.this.dns_name}:${local.services.mlflow.port}" in (
        prod.outputs["mlflow_url"]["value"]
    )
    assert hosts.allows(f"{ALB_NAME}:{port}")
    assert hosts.allows(f"127.0.0.1:{port}")  # the task's own health check
    for other in ("evil.example", f"evil.example:{port}", f"mlflow.{namespace}:5001"):
        assert not hosts.allows(other), other
    # The load balancer's health check names the task's address: /health answers any Host.
    assert prod.locals["services"]["mlflow"]["health_path"] in rules.HOST_CHECK_EXEMPT_PATHS


def unescape(rule: str) -> str:
    """A regular expression as Terraform sees it (HCL strings escape the backslash)."""
    return rule.replace("\\\\", "\\")


def test_the_operator_lists_are_validated_and_default_to_nothing_more(prod):
    for name in ("mlflow_allowed_hosts", "mlflow_cors_allowed_origins"):
        variable = prod.variables[name]
        assert variable["default"] == [] and variable["validation"], name
    hosts_rule = re.search(
        r'regex\("(.+?)", host\)',
        prod.variables["mlflow_allowed_hosts"]["validation"][0]["condition"],
    ).group(1)
    origins_rule = re.search(
        r'regex\("(.+?)", origin\)',
        prod.variables["mlflow_cors_allowed_origins"]["validation"][0]["condition"],
    ).group(1)
    for good in ("mlflow.example.com:5000", "*.example.com", "mlflow.example.com"):
        assert re.match(unescape(hosts_rule), good), good
        rules.parse_host_pattern(good)
    for bad in ("http://mlflow.example.com", "mlflow.example.com/", "a b", "*"):
        assert not re.match(unescape(hosts_rule), bad), bad
    for good in ("https://ui.example.com", "http://localhost:3000", "https://*.example.com"):
        assert re.match(unescape(origins_rule), good), good
        rules.OriginAllowList.parse(good)
    for bad in ("ui.example.com", "https://ui.example.com/app", "*"):
        assert not re.match(unescape(origins_rule), bad), bad
