"""docker-compose.yml, verified without Docker: structure, variables, ports, health, order."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from urllib.parse import urlparse

import pytest
from deployment_helpers import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    IMAGES,
    SECRET_WORDS,
    compose_strings,
    config_variables,
    defaults,
    healthcheck_url,
    interpolated_variables,
    parse_dockerfile,
    published_ports,
)

from machine_learning.config import PROJECT_ROOT

EXPECTED_SERVICES = {"postgres", "minio", "minio-init", *IMAGES}
# The reference design's ports, and the prediction service's.
EXPECTED_PORTS = {
    "mage": 6789,
    "postgres": 5432,
    "mlflow": 5000,
    "evidently": 8001,
    "prediction": 8080,
}
CONDITIONS = {"service_healthy", "service_completed_successfully"}
# What the application containers must be told (machine_learning/config.py names).
APP_REQUIRED = {
    "STORAGE",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
    "MLFLOW_TRACKING_URI",
    "MODEL_NAME",
}
# Variables of the containers that are not the application's: AWS SDK, Mage, MLflow, Postgres.
THIRD_PARTY = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "DB_HOST",
    "DB_PORT",
    "DB_USER",
    "DB_PASS",
    "DB_NAME",
    "DEFAULT_OWNER_EMAIL",
    "DEFAULT_OWNER_USERNAME",
    "DEFAULT_OWNER_PASSWORD",
}


def one_shot(service: dict) -> bool:
    """A job that runs once and exits (restart "no"), as opposed to a server."""
    return str(service.get("restart", "no")) == "no"


def test_the_stack_has_the_reference_services(services):
    assert set(services) == EXPECTED_SERVICES


def test_every_service_has_an_image_or_a_build_whose_dockerfile_exists(services):
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        if "build" in service:
            context = PROJECT_ROOT / service["build"]["context"]
            assert context.resolve() == PROJECT_ROOT, f"{name}: build from the repository root"
            dockerfile = context / service["build"]["dockerfile"]
            assert dockerfile.is_file(), f"{name}: {dockerfile} is missing"
            assert dockerfile == PROJECT_ROOT / "docker" / name / "Dockerfile"
        else:
            image = service["image"]
            assert ":" in image and not image.endswith(":latest"), f"{name}: pin {image}"


def test_every_variable_used_is_documented_in_env_example(compose, env_example):
    used = set()
    for text in compose_strings(compose):
        used |= interpolated_variables(text)
    assert used, "the stack reads no variable at all: did the parser break?"
    undocumented = sorted(used - set(env_example))
    assert not undocumented, f"add to .env.example: {undocumented}"


def test_secrets_have_no_default_and_are_empty_in_env_example(compose, env_example):
    secret_names = set()
    for text in compose_strings(compose):
        for name, (operator, default) in defaults(text).items():
            if any(word in name for word in SECRET_WORDS):
                secret_names.add(name)
                if operator.endswith("-"):
                    assert re.fullmatch(r"(\$\{[^}]*\}?)*", default), f"{name} defaults to a value"
    assert {"POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "MAGE_OWNER_PASSWORD"} <= secret_names
    for name in secret_names:
        assert env_example.get(name, "") == "", f".env.example must not hold a value for {name}"


def test_required_passwords_stop_compose_when_missing(compose):
    texts = list(compose_strings(compose))
    for name in ("POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "MAGE_OWNER_PASSWORD"):
        assert any(defaults(text).get(name, ("", ""))[0] == ":?" for text in texts), name


def test_published_ports_are_unique_on_loopback_and_as_the_reference(services):
    seen: dict[int, str] = {}
    for name, service in services.items():
        for host_ip, host, container in published_ports(service):
            assert host not in seen, f"port {host} published by {seen.get(host)} and {name}"
            seen[host] = name
            assert host_ip == "127.0.0.1", f"{name}: publish on 127.0.0.1 only"
            assert host == container
    for name, port in EXPECTED_PORTS.items():
        assert seen.get(port) == name, f"{name} must be on {port}"


def test_every_server_has_a_health_check(services):
    for name, service in services.items():
        if one_shot(service):
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test and test != ["NONE"], f"{name} has no health check"


def test_health_checks_ask_the_port_the_service_serves(services):
    for name in IMAGES:
        url = urlparse(healthcheck_url(services[name]["healthcheck"]["test"]))
        assert url.hostname == "127.0.0.1"
        assert url.port == EXPECTED_PORTS[name], name


def test_one_shot_jobs_are_awaited_until_they_complete(services):
    jobs = {name for name, service in services.items() if one_shot(service)}
    assert jobs == {"minio-init"}
    waited = set()
    for service in services.values():
        for target, spec in service.get("depends_on", {}).items():
            if target in jobs:
                assert spec["condition"] == "service_completed_successfully"
                waited.add(target)
    assert waited == jobs


def test_every_dependency_has_a_condition_and_exists(services):
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions (long form)"
        for target, spec in depends_on.items():
            assert target in services, f"{name} depends on unknown {target}"
            assert spec.get("condition") in CONDITIONS, f"{name} -> {target}: no condition"
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no health check"


def test_dependencies_have_no_cycle(services):
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert state.get(name) != "open", f"cycle: {' -> '.join(path + (name,))}"
        if state.get(name) == "done":
            return
        state[name] = "open"
        for target in services[name].get("depends_on", {}):
            visit(target, path + (name,))
        state[name] = "done"

    for name in services:
        visit(name, ())


def test_a_service_waits_for_every_service_it_talks_to(services):
    for name, service in services.items():
        talks_to = set()
        for value in service.get("environment", {}).values():
            for other in services:
                if other != name and re.search(rf"(^|//){re.escape(other)}(:|$)", str(value)):
                    talks_to.add(other)
        missing = talks_to - set(service.get("depends_on", {}))
        assert not missing, f"{name} talks to {sorted(missing)} without waiting for them"
    assert "postgres" in services["mage"]["depends_on"]
    assert "mlflow" in services["prediction"]["depends_on"]


def test_application_containers_get_the_settings_the_application_reads(services):
    known = config_variables()
    assert APP_REQUIRED <= known, f"config.py no longer reads {sorted(APP_REQUIRED - known)}"
    for name in ("mage", "prediction"):
        environment = services[name]["environment"]
        assert APP_REQUIRED <= set(environment), f"{name} lacks {APP_REQUIRED - set(environment)}"
        assert environment["STORAGE"] == "s3"
        assert environment["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
        unknown = set(environment) - known - THIRD_PARTY
        assert not unknown, f"{name}: {sorted(unknown)} is read by nothing (a typo?)"


def test_mage_and_evidently_share_the_workspace_volume(compose, services):
    def mounts(name: str) -> dict[str, str]:
        return dict(volume.split(":")[:2] for volume in services[name]["volumes"])

    mage, evidently = mounts("mage"), mounts("evidently")
    assert mage["evidently_workspace"] == services["mage"]["environment"]["EVIDENTLY_WORKSPACE"]
    assert (
        evidently["evidently_workspace"]
        == services["evidently"]["environment"]["EVIDENTLY_WORKSPACE"]
    )
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in compose["volumes"], f"{name}: volume {source} is not declared"


def test_ports_match_the_images(services):
    for name in IMAGES:
        dockerfile = parse_dockerfile(PROJECT_ROOT / "docker" / name / "Dockerfile")
        exposed = {int(item.arguments) for item in dockerfile.of("EXPOSE")}
        assert {container for _, _, container in published_ports(services[name])} == exposed


def _compose_binary() -> list[str] | None:
    """Docker Compose v2 (`docker compose` or `docker-compose`), if it is installed."""
    candidates = [["docker", "compose"], ["docker-compose"]]
    for command in candidates:
        if not shutil.which(command[0]):
            continue
        probe = subprocess.run([*command, "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0 and re.search(r"v?2\.\d+", probe.stdout):
            return command
    return None


@pytest.fixture(scope="module")
def compose_binary() -> list[str]:
    command = _compose_binary()
    if command is None:
        pytest.skip("Docker Compose v2 is not installed here: the checks above are the static ones")
    return command


def _config(command: list[str], env_file) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER"))}
    return subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "--env-file", str(env_file), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        cwd=PROJECT_ROOT,
    )


def test_docker_compose_accepts_the_file_once_passwords_are_set(compose_binary, tmp_path):
    filled = tmp_path / ".env"
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    for name in ("POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "MAGE_OWNER_PASSWORD"):
        text = re.sub(rf"(?m)^{name}=$", f"{name}=not-a-real-password", text)
    filled.write_text(text, encoding="utf-8")
    result = _config(compose_binary, filled)
    assert result.returncode == 0, result.stderr


def test_docker_compose_refuses_to_start_without_passwords(compose_binary):
    result = _config(compose_binary, ENV_EXAMPLE)
    assert result.returncode != 0
    assert "PASSWORD" in result.stderr
