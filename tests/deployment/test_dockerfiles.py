"""The Dockerfiles, verified without building them: pinned, non-root, healthy, cache-friendly."""

from __future__ import annotations

import fnmatch
import re
from urllib.parse import urlparse

import pytest
from deployment_helpers import (
    DOCKER_DIR,
    DOCKERIGNORE,
    IMAGES,
    SECRET_WORDS,
    env_assignments,
    healthcheck_url,
    normalise,
    pinned_requirements,
)

from machine_learning.config import PROJECT_ROOT

# An exact Python 3.11 slim tag (optionally with its digest), never a moving tag.
PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?$")
CODE_PATHS = ("machine_learning", "mlops")
PORTS = {"mage": 6789, "mlflow": 5000, "evidently": 8001, "prediction": 8080}
IMAGE_UID = "10001"  # also the EFS access point's owner in infrastructure/aws_prod


def test_one_dockerfile_per_service(images):
    assert set(images) == set(IMAGES)


@pytest.mark.parametrize("image", IMAGES)
def test_base_images_are_pinned(images, image):
    dockerfile = images[image]
    bases = [item.arguments.split()[0] for item in dockerfile.of("FROM")]
    assert bases, "no FROM"
    for base in bases:
        assert PINNED_BASE.match(base), f"{image}: {base} is not an exact python:3.11.x-slim tag"
    assert len(set(bases)) == 1, f"{image}: stages use different bases {bases}"


@pytest.mark.parametrize("image", IMAGES)
def test_the_image_runs_as_a_non_root_user_created_with_a_fixed_uid(images, image):
    dockerfile = images[image]
    users = dockerfile.of("USER", dockerfile.final_stage)
    assert users, f"{image}: no USER in the final stage"
    user = users[-1].arguments.split(":")[0]
    assert user not in {"root", "0"}, f"{image} runs as root"
    runs = " ".join(item.arguments for item in dockerfile.of("RUN", dockerfile.final_stage))
    assert re.search(rf"useradd --uid {IMAGE_UID} .*\b{re.escape(user)}\b", runs), image
    # Nothing runs as root after the switch.
    last_user = max(i for i, item in enumerate(dockerfile.instructions) if item.keyword == "USER")
    assert not [item for item in dockerfile.instructions[last_user:] if item.keyword == "RUN"]


@pytest.mark.parametrize("image", IMAGES)
def test_the_health_check_asks_the_exposed_port(images, image):
    dockerfile = images[image]
    checks = dockerfile.of("HEALTHCHECK", dockerfile.final_stage)
    assert checks, f"{image}: no HEALTHCHECK"
    exposed = [int(item.arguments) for item in dockerfile.of("EXPOSE", dockerfile.final_stage)]
    assert exposed == [PORTS[image]]
    url = urlparse(healthcheck_url(checks[-1].arguments))
    assert (url.hostname, url.port) == ("127.0.0.1", PORTS[image])


@pytest.mark.parametrize("image", IMAGES)
def test_requirements_are_installed_before_the_code_is_copied(images, image):
    dockerfile = images[image]
    instructions = dockerfile.instructions
    copies = [(i, item) for i, item in enumerate(instructions) if item.keyword == "COPY"]
    requirement_copies = [i for i, item in copies if "requirements" in item.arguments]
    installs = [
        i
        for i, item in enumerate(instructions)
        if item.keyword == "RUN" and re.search(r"pip install (?:.* )?-r ", item.arguments)
    ]
    assert requirement_copies and installs, f"{image}: no requirements install"
    code_copies = [
        i
        for i, item in copies
        if any(re.search(rf"(^|\s){path}(/|\s|$)", item.arguments) for path in CODE_PATHS)
    ]
    for index in code_copies:
        assert min(requirement_copies) < min(installs) < index, f"{image}: code before deps"


@pytest.mark.parametrize("image", IMAGES)
def test_no_secret_is_baked_in(images, image):
    for item in images[image].instructions:
        if item.keyword in {"ENV", "ARG"}:
            for name, value in env_assignments(item).items():
                secret = any(word in name.upper() for word in SECRET_WORDS)
                assert not (secret and value), f"{image}: {name} is set in the image"
        assert not re.search(r"(?i)(password|secret|token)=\S", item.arguments), item.arguments


@pytest.mark.parametrize("image", IMAGES)
def test_copied_files_exist_and_are_not_docker_ignored(images, image):
    ignored = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith(("#", "!"))
    ]
    for item in images[image].of("COPY"):
        if item.arguments.startswith("--from="):
            continue
        sources = [part for part in item.arguments.split() if not part.startswith("--")][:-1]
        for source in sources:
            assert (PROJECT_ROOT / source).exists(), f"{image}: COPY {source}: no such file"
            for pattern in ignored:
                assert not fnmatch.fnmatch(source, pattern.rstrip("/")), f"{source} is ignored"


def test_dockerignore_keeps_secrets_and_local_state_out():
    patterns = set(DOCKERIGNORE.read_text(encoding="utf-8").splitlines())
    assert {".env", ".venv*", "runtime", ".git", "**/*.tfstate*"} <= patterns


@pytest.mark.parametrize("image", IMAGES)
def test_the_requirements_of_each_image_are_pinned(images, image):
    files = set()
    for item in images[image].of("COPY"):
        sources = [part for part in item.arguments.split() if not part.startswith("--")][:-1]
        files.update(source for source in sources if re.search(r"requirements.*\.txt$", source))
    assert files, f"{image} installs no requirements file"
    for name in files:
        assert pinned_requirements(PROJECT_ROOT / name), name


def test_images_install_the_versions_the_tests_run():
    tested = pinned_requirements(PROJECT_ROOT / "requirements.txt")
    servers = pinned_requirements(PROJECT_ROOT / "requirements-servers.txt")
    evidently = pinned_requirements(DOCKER_DIR / "evidently" / "requirements.txt")
    mlflow = pinned_requirements(DOCKER_DIR / "mlflow" / "requirements.txt")
    for package, version in evidently.items():
        if package in tested:
            assert tested[package] == version, f"evidently image: {package} {version}"
    assert evidently["evidently"] == tested["evidently"]
    for package in ("mlflow", "sqlalchemy", "boto3"):
        assert mlflow[package] == servers[package] == tested[package], package
    assert normalise("psycopg2-binary") in mlflow


@pytest.mark.parametrize("image", ["mage", "mlflow"])
def test_entrypoints_are_executable_shell_scripts_that_exec(images, image):
    entrypoint = images[image].exec_form("ENTRYPOINT")
    assert entrypoint == ["/opt/scripts/entrypoint.sh"]
    script = DOCKER_DIR / image / "entrypoint.sh"
    text = script.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/sh\n")
    assert "set -eu" in text
    assert re.search(r"(?m)^exec ", text), "the server must replace the shell (signals)"
    assert script.stat().st_mode & 0o111, f"{script} is not executable"


def test_pip_is_upgraded_to_a_pinned_version_before_resolving(images):
    for image, dockerfile in images.items():
        upgrades = [item for item in dockerfile.of("RUN") if "--upgrade pip" in item.arguments]
        assert upgrades and re.search(r"pip==\d+\.\d+", upgrades[0].arguments), image


def test_the_services_start_as_the_stack_expects(images):
    # Mage starts through the wrapper that fixes its hanging API-triggered runs.
    assert images["mage"].exec_form("CMD")[:5] == [
        "python",
        "-m",
        "machine_learning.mage_server",
        "start",
        "/app/mlops",
    ]
    assert images["prediction"].exec_form("CMD") == [
        "gaming-mlops",
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "8080",
    ]
    assert "--serve-artifacts" in (DOCKER_DIR / "mlflow" / "entrypoint.sh").read_text()
    assert "evidently ui --workspace" in " ".join(images["evidently"].exec_form("CMD"))
