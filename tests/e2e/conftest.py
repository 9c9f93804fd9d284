"""End-to-end fixtures: an isolated platform (storage, Mage data, Evidently workspace, model name)
in temporary folders, wired to the session's real MLflow server through the environment that
``load_settings`` and every Mage process read."""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from machine_learning import registry
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
