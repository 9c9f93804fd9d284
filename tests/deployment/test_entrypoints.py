"""The containers' start-up scripts, run here for real (no Docker): database URLs and servers."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from deployment_helpers import DOCKER_DIR
from sqlalchemy.engine import make_url

SCRIPTS = DOCKER_DIR / "scripts"
TRICKY_PASSWORDS = ["p@ss:w/rd", "%41%zz", "a#b?c&d=e", "sp ace+plus", "quote'\"back\\slash"]


def _load_database_url():
    spec = importlib.util.spec_from_file_location("database_url", SCRIPTS / "database_url.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


database_url = _load_database_url()


def db_env(**changes: str) -> dict[str, str]:
    env = {"DB_HOST": "db.internal", "DB_USER": "mage", "DB_PASS": "x", "DB_NAME": "mage"}
    env.update(changes)
    return env


@pytest.mark.parametrize("password", TRICKY_PASSWORDS)
def test_any_password_survives_the_url(password):
    url = make_url(database_url.database_url(db_env(DB_PASS=password, DB_USER="us@r:1")))
    assert url.password == password
    assert url.username == "us@r:1"
    assert (url.host, url.port, url.database) == ("db.internal", 5432, "mage")
    assert url.drivername == "postgresql+psycopg2"


def test_the_database_option_wins_over_db_name():
    url = make_url(database_url.database_url(db_env(DB_PORT="6543"), database="mlflow"))
    assert (url.port, url.database) == (6543, "mlflow")


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DB_USER": "u", "DB_PASS": "p", "DB_NAME": "d"}, "DB_HOST"),
        (db_env(DB_PASS=""), "DB_PASS"),
        (db_env(DB_NAME=""), "DB_NAME"),
        (db_env(DB_PORT="54x"), "DB_PORT"),
        (db_env(DB_NAME="mage; DROP"), "letters, digits"),
    ],
)
def test_missing_or_invalid_settings_are_named(env, message):
    with pytest.raises(database_url.SettingsError, match=message):
        database_url.database_url(env)


def test_the_command_line_prints_the_url_or_fails_with_one_line(capsys):
    assert database_url.main(["url"], env=db_env()) == 0
    assert capsys.readouterr().out.strip() == "postgresql+psycopg2://mage:x@db.internal:5432/mage"
    assert database_url.main(["url"], env={}) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("database_url.py: missing variables: DB_HOST") and "\n" not in error


# ------------------------------------------------------------------ the shell entrypoints


def _fake_command(folder: Path, name: str) -> None:
    """A stand-in for ``name`` that prints its arguments and environment as JSON."""
    script = folder / name
    script.write_text(
        "#!/bin/sh\n"
        f'exec "{sys.executable}" -c "import json, os, sys; '
        "print(json.dumps({'argv': sys.argv[1:], 'env': dict(os.environ)}))\" \"$@\"\n",
        encoding="utf-8",
    )
    script.chmod(0o755)


def run_entrypoint(image: str, tmp_path: Path, env: dict[str, str], *command: str) -> dict:
    import json  # pylint: disable=import-outside-toplevel

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("mage", "mlflow"):
        _fake_command(bin_dir, name)
    (bin_dir / "python").symlink_to(sys.executable)
    environment = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin",
        "SCRIPTS_DIR": str(SCRIPTS),
        **env,
    }
    result = subprocess.run(
        ["/bin/sh", str(DOCKER_DIR / image / "entrypoint.sh"), *command],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_mage_gets_a_quoted_database_url_from_db_variables(tmp_path):
    password = "p@ss/%41:#"
    seen = run_entrypoint("mage", tmp_path, db_env(DB_PASS=password), "mage", "start", "x")
    assert seen["argv"] == ["start", "x"]
    url = make_url(seen["env"]["MAGE_DATABASE_CONNECTION_URL"])
    assert (url.password, url.host, url.database) == (password, "db.internal", "mage")


def test_mage_keeps_a_url_given_whole_and_needs_none(tmp_path):
    given = {"MAGE_DATABASE_CONNECTION_URL": "postgresql+psycopg2://a:b@h/d", **db_env()}
    seen = run_entrypoint("mage", tmp_path / "given", given, "mage")
    assert seen["env"]["MAGE_DATABASE_CONNECTION_URL"] == given["MAGE_DATABASE_CONNECTION_URL"]
    seen = run_entrypoint("mage", tmp_path / "none", {}, "mage")
    assert "MAGE_DATABASE_CONNECTION_URL" not in seen["env"]


def test_mlflow_defaults_to_sqlite_serves_artifacts_and_hides_the_store_uri(tmp_path):
    seen = run_entrypoint("mlflow", tmp_path, {"MLFLOW_S3_ENDPOINT_URL": ""})
    argv = seen["argv"]
    assert argv[0] == "server" and "--serve-artifacts" in argv
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    assert argv[argv.index("--port") + 1] == "5000"
    assert argv[argv.index("--artifacts-destination") + 1] == "/mlflow/artifacts"
    assert "--backend-store-uri" not in argv, "a store URI may hold a password: env only"
    assert seen["env"]["MLFLOW_BACKEND_STORE_URI"] == "sqlite:////mlflow/mlflow.db"
    assert "MLFLOW_S3_ENDPOINT_URL" not in seen["env"], "an empty endpoint must be unset"


def test_mlflow_takes_its_stores_from_the_environment(tmp_path):
    env = {
        "MLFLOW_BACKEND_STORE_URI": "postgresql+psycopg2://u:p@h/mlflow",
        "MLFLOW_ARTIFACTS_DESTINATION": "s3://bucket/mlflow",
        "MLFLOW_S3_ENDPOINT_URL": "http://minio:9000",
    }
    seen = run_entrypoint("mlflow", tmp_path, env)
    argv = seen["argv"]
    assert argv[argv.index("--artifacts-destination") + 1] == "s3://bucket/mlflow"
    assert seen["env"]["MLFLOW_BACKEND_STORE_URI"] == env["MLFLOW_BACKEND_STORE_URI"]
    assert seen["env"]["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"
