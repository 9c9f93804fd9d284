"""Settings: defaults, environment variables, the .env file and its precedence, clear errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from machine_learning.config import (
    DEFAULT_EXPERIMENT,
    DEFAULT_MODEL_NAME,
    PROJECT_ROOT,
    Settings,
    load_settings,
)

SETTING_VARIABLES = (
    "DATA_DIR",
    "STORAGE",
    "S3_BUCKET",
    "S3_PREFIX",
    "S3_ENDPOINT_URL",
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "MODEL_NAME",
    "MODEL_KIND",
    "DATA_PATH",
    "BATCH_DATA_PATH",
    "SEED",
    "RUNTIME_DIR",
    "MAGE_DATA_DIR",
    "EVIDENTLY_WORKSPACE",
)


@pytest.fixture()
def no_setting_variables(monkeypatch):
    for name in SETTING_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_empty_environment_gives_the_dataclass_defaults():
    assert load_settings(environ={}) == Settings()


def test_defaults_are_local_and_inside_the_project():
    settings = load_settings(environ={})
    assert settings.storage == "local"
    assert settings.data_dir.is_relative_to(PROJECT_ROOT)
    assert settings.data_path is None and settings.batch_data_path is None
    assert settings.model_name == DEFAULT_MODEL_NAME
    assert settings.experiment_name == DEFAULT_EXPERIMENT


def test_every_variable_is_read(tmp_path):
    environ = {
        "DATA_DIR": str(tmp_path / "data"),
        "STORAGE": " S3 ",
        "S3_BUCKET": "bucket",
        "S3_PREFIX": "/team/project/",
        "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "MLFLOW_TRACKING_URI": "http://mlflow:5000",
        "MLFLOW_EXPERIMENT_NAME": "experiment",
        "MODEL_NAME": "model",
        "MODEL_KIND": "hist_gradient_boosting",
        "DATA_PATH": str(tmp_path / "train.csv"),
        "BATCH_DATA_PATH": str(tmp_path / "batch.csv"),
        "SEED": "7",
    }
    settings = load_settings(environ=environ)
    assert settings.data_dir == tmp_path / "data"
    assert settings.storage == "s3"  # trimmed and lower-cased
    assert settings.s3_bucket == "bucket"
    assert settings.s3_prefix == "team/project"  # no leading or trailing slash
    assert settings.s3_endpoint_url == "http://127.0.0.1:9000"
    assert settings.aws_region == "eu-west-1"
    assert settings.mlflow_tracking_uri == "http://mlflow:5000"
    assert settings.experiment_name == "experiment"
    assert settings.model_name == "model"
    assert settings.model_kind == "hist_gradient_boosting"
    assert settings.data_path == tmp_path / "train.csv"
    assert settings.batch_data_path == tmp_path / "batch.csv"
    assert settings.seed == 7


def test_paths_expand_the_home_folder():
    settings = load_settings(environ={"DATA_DIR": "~/data", "DATA_PATH": "~/players.csv"})
    assert settings.data_dir == Path.home() / "data"
    assert settings.data_path == Path.home() / "players.csv"


def test_relative_data_dir_is_taken_from_the_project_root():
    assert load_settings(environ={"DATA_DIR": "somewhere/data"}).data_dir == (
        PROJECT_ROOT / "somewhere" / "data"
    )


def test_empty_data_path_means_simulated_players():
    assert load_settings(environ={"DATA_PATH": ""}).data_path is None


def test_aws_endpoint_url_is_the_fallback_endpoint():
    endpoint = "http://127.0.0.1:4566"
    assert load_settings(environ={"AWS_ENDPOINT_URL": endpoint}).s3_endpoint_url == endpoint
    both = {"AWS_ENDPOINT_URL": endpoint, "S3_ENDPOINT_URL": "http://s3:9000"}
    assert load_settings(environ=both).s3_endpoint_url == "http://s3:9000"


def test_unknown_storage_is_rejected_with_its_value():
    with pytest.raises(ValueError, match="STORAGE.*'ftp'"):
        load_settings(environ={"STORAGE": "ftp"})


def test_s3_storage_needs_a_bucket():
    with pytest.raises(ValueError, match="S3_BUCKET"):
        load_settings(environ={"STORAGE": "s3"})


@pytest.mark.usefixtures("no_setting_variables")
def test_env_file_is_read(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("MODEL_NAME=from-file\nSEED=3\nEMPTY\n", encoding="utf-8")
    settings = load_settings(env_file=env_file)
    assert settings.model_name == "from-file"
    assert settings.seed == 3


@pytest.mark.usefixtures("no_setting_variables")
def test_process_environment_wins_over_env_file(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("MODEL_NAME=from-file\nMODEL_KIND=from-file\n", encoding="utf-8")
    monkeypatch.setenv("MODEL_NAME", "from-environment")
    settings = load_settings(env_file=env_file)
    assert settings.model_name == "from-environment"
    assert settings.model_kind == "from-file"


@pytest.mark.usefixtures("no_setting_variables")
def test_absent_env_file_is_fine(tmp_path):
    assert load_settings(env_file=tmp_path / "absent.env") == Settings()


def test_explicit_environ_ignores_the_process_environment(monkeypatch):
    monkeypatch.setenv("MODEL_NAME", "from-environment")
    assert load_settings(environ={}).model_name == DEFAULT_MODEL_NAME


def test_with_overrides_returns_a_changed_copy():
    settings = Settings()
    changed = settings.with_overrides(seed=1, storage="s3")
    assert (changed.seed, changed.storage) == (1, "s3")
    assert (settings.seed, settings.storage) == (Settings().seed, "local")


def test_settings_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().seed = 1  # type: ignore[misc]
