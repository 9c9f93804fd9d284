"""End-to-end fixtures: an isolated platform (storage, Mage data, Evidently workspace, model name)
in temporary folders, wired to the session's real MLflow server through the environment that
``load_settings`` and every Mage process read."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from platform_helpers import gaming_mlops, last_json

from machine_learning import orchestration, registry, services
from machine_learning.config import PROJECT_ROOT, Settings, load_settings
from machine_learning.storage import LocalStorage


@dataclass
class Platform:
    """One isolated platform: its settings, storage and registry client."""

    settings: Settings
    storage: LocalStorage
    client: MlflowClient
    root: Path

    @property
    def model_name(self) -> str:
        """The registered model's name (unique per platform)."""
        return self.settings.model_name

    def versions(self) -> list[registry.VersionInfo]:
        """Every registered version, oldest first."""
        return registry.list_versions(self.client, self.model_name)

    def alias(self, alias: str) -> str:
        """The version an alias points to."""
        return registry.version_by_alias(self.client, self.model_name, alias).version


def _environment(root: Path, tracking_uri: str, name: str) -> dict[str, str]:
    return {
        "STORAGE": "local",
        "DATA_DIR": str(root / "data"),
        "RUNTIME_DIR": str(root / "runtime"),
        "MAGE_DATA_DIR": str(root / "mage_data"),
        "EVIDENTLY_WORKSPACE": str(root / "evidently"),
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_EXPERIMENT_NAME": name,
        "MODEL_NAME": name,
        "MODEL_KIND": "hist_gradient_boosting",  # about 1 s to fit; the reference's GB takes 8 s
        "DATA_PATH": "",
        "BATCH_DATA_PATH": "",
        # One OpenMP thread: on a busy 2-core runner, HistGradientBoosting's default threads
        # spin against each other and a 1 s fit takes 30 s.
        "OMP_NUM_THREADS": "1",
    }


@pytest.fixture(scope="module")
def platform(tmp_path_factory, mlflow_server):
    """An isolated platform for one test module, its variables set in the environment."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    root = tmp_path_factory.mktemp(name)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in _environment(root, mlflow_server.url, name).items():
            patch.setenv(key, value)
        settings = load_settings()
        yield Platform(
            settings=settings,
            storage=LocalStorage(settings.data_dir),
            client=registry.client_for(settings.mlflow_tracking_uri),
            root=root,
        )


def git_status(path: Path) -> str:
    """``git status --porcelain`` of a path in the repository (ignored files left out)."""
    return subprocess.run(
        ["git", "status", "--porcelain", "--", str(path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
def clean_tree_check():
    """Fail when the module's runs changed tracked or unignored files under mlops/."""
    before = git_status(PROJECT_ROOT / "mlops")
    yield
    assert git_status(PROJECT_ROOT / "mlops") == before, "Mage runs dirtied the git tree"


# --------------------------------------------------------------------------- the whole platform

LIFECYCLE_ARGS = (
    "--days",
    "15",
    "--drift-day",
    "8",
    "--players-per-day",
    "500",
    "--training-players",
    "5000",
    "--model",
    "hist_gradient_boosting",
)


@dataclass
class LifecyclePlatform:  # pylint: disable=too-many-instance-attributes
    """The local platform of `gaming-mlops up` after a short lifecycle run (and its rerun)."""

    env: dict[str, str]
    settings: Settings
    storage: LocalStorage
    client: MlflowClient
    mlflow_url: str
    mage_url: str
    evidently_url: str
    mage_email: str
    mage_password: str
    model_name: str
    experiment_name: str
    pipelines: list[str]
    summary: dict
    rerun: dict
    versions_after_first_run: list[str]
    up_output: str


def platform_environment(root: Path, name: str) -> dict[str, str]:
    """An isolated platform on free ports, its state under ``root``."""
    return {
        **os.environ,
        "STORAGE": "local",
        "DATA_DIR": str(root / "data"),
        "RUNTIME_DIR": str(root / "runtime"),
        "MAGE_DATA_DIR": str(root / "mage_data"),
        "EVIDENTLY_WORKSPACE": str(root / "evidently"),
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{services.free_port()}",
        "MAGE_PORT": str(services.free_port()),
        "EVIDENTLY_UI_PORT": str(services.free_port()),
        "MLFLOW_EXPERIMENT_NAME": name,
        "MODEL_NAME": name,
        "DEFAULT_OWNER_EMAIL": "owner@example.com",
        "DEFAULT_OWNER_PASSWORD": secrets.token_urlsafe(16),
        "DATA_PATH": "",
        "BATCH_DATA_PATH": "",
        "OMP_NUM_THREADS": "1",
    }


@pytest.fixture(scope="session")
def lifecycle_platform(tmp_path_factory):
    """`gaming-mlops up` (MLflow, Mage server, Evidently UI on free ports), then a 15-day
    lifecycle with drift from day 8 through the Mage server, then the same command again;
    `gaming-mlops down` afterwards."""
    name = f"life-{uuid.uuid4().hex[:8]}"
    root = tmp_path_factory.mktemp(name)
    env = platform_environment(root, name)
    try:
        up_output = gaming_mlops(env, "up", "--json")
        services_up = {s["name"]: s["url"] for s in last_json(up_output)["services"]}
        summary = last_json(gaming_mlops(env, "lifecycle", *LIFECYCLE_ARGS, "--json"))
        settings = load_settings(environ=env)
        client = registry.client_for(settings.mlflow_tracking_uri)
        versions = [v.version for v in registry.list_versions(client, name)]
        rerun = last_json(gaming_mlops(env, "lifecycle", *LIFECYCLE_ARGS, "--json"))
        yield LifecyclePlatform(
            env=env,
            settings=settings,
            storage=LocalStorage(settings.data_dir),
            client=client,
            mlflow_url=services_up["mlflow"],
            mage_url=services_up["mage"],
            evidently_url=services_up["evidently"],
            mage_email=env["DEFAULT_OWNER_EMAIL"],
            mage_password=env["DEFAULT_OWNER_PASSWORD"],
            model_name=name,
            experiment_name=name,
            pipelines=list(orchestration.PIPELINES),
            summary=summary,
            rerun=rerun,
            versions_after_first_run=versions,
            up_output=up_output,
        )
    finally:
        subprocess.run(
            [str(Path(sys.executable).with_name("gaming-mlops")), "down"],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
