"""Fixtures of the static deployment tests: parsed once per session."""

from __future__ import annotations

import pytest
from deployment_helpers import (
    INFRASTRUCTURE,
    STACKS,
    Stack,
    dockerfiles,
    documented_variables,
    load_compose,
    load_stack,
)


@pytest.fixture(scope="session")
def compose() -> dict:
    """docker-compose.yml, parsed."""
    return load_compose()


@pytest.fixture(scope="session")
def services(compose) -> dict:
    """The compose services."""
    return compose["services"]


@pytest.fixture(scope="session")
def env_example() -> dict[str, str]:
    """The variables documented in .env.example."""
    return documented_variables()


@pytest.fixture(scope="session")
def images() -> dict:
    """docker/<image>/Dockerfile, parsed."""
    return dockerfiles()


@pytest.fixture(scope="session")
def stacks() -> dict[str, Stack]:
    """The Terraform stacks, parsed."""
    return {name: load_stack(INFRASTRUCTURE / name) for name in STACKS}


@pytest.fixture(scope="session")
def bucket_module() -> Stack:
    """The data bucket module, parsed."""
    return load_stack(INFRASTRUCTURE / "modules" / "data_bucket")


@pytest.fixture(scope="session")
def prod(stacks) -> Stack:
    """The aws_prod stack."""
    return stacks["aws_prod"]
