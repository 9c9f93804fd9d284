"""No secret in the repository: detect-secrets scans every tracked file (as the pre-commit hook
does) and finds nothing beyond the audited false positives of `.secrets.baseline`; `.env` is
ignored by git; the Mage API-trigger tokens are not committed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from machine_learning.config import PROJECT_ROOT

DETECT_SECRETS = Path(sys.executable).parent / "detect-secrets"
BASELINE = PROJECT_ROOT / ".secrets.baseline"

pytestmark = pytest.mark.skipif(
    not DETECT_SECRETS.exists(), reason=f"{DETECT_SECRETS} is missing: `make setup-app` installs it"
)


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )


def _scan(*paths: str, cwd: Path = PROJECT_ROOT) -> dict[str, list[dict]]:
    """detect-secrets' findings (default plugins and filters) by file."""
    result = subprocess.run(
        [str(DETECT_SECRETS), "scan", *paths],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(result.stdout)["results"]


def _keys(results: dict[str, list[dict]]) -> set[tuple[str, str, str]]:
    return {(name, f["type"], f["hashed_secret"]) for name, found in results.items() for f in found}


def test_no_secret_in_the_tracked_files():
    tracked = [
        p
        for p in _git("ls-files").stdout.splitlines()
        if (PROJECT_ROOT / p).is_file() and p != BASELINE.name  # its own hashes are not secrets
    ]
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    audited = {
        key
        for key in _keys(baseline["results"])
        if not any(f.get("is_secret") for f in baseline["results"][key[0]])
    }
    new = sorted(_keys(_scan(*tracked)) - audited)
    assert not new, (
        f"possible secrets (file, kind, hash): {new}; remove them, or audit them into "
        "`.secrets.baseline` (`detect-secrets audit .secrets.baseline`) if they are not secrets"
    )


def test_the_scanner_finds_a_planted_secret(tmp_path):
    """The scan can fail: an AWS key and a private key in a file are both found."""
    planted = tmp_path / "settings.py"
    key_id = "AKIA" + "Q3VZ7XWM2LRT5KBN"  # built here so that this file holds no key
    private = (
        "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
    )
    planted.write_text(f'AWS_ACCESS_KEY_ID = "{key_id}"\nKEY = """{private}"""\n')
    kinds = {f["type"] for f in _scan(planted.name, cwd=tmp_path).get(planted.name, [])}
    assert {"AWS Access Key", "Private Key"} <= kinds, kinds


def test_the_baseline_holds_only_audited_false_positives():
    results = json.loads(BASELINE.read_text(encoding="utf-8"))["results"]
    assert all(f["is_secret"] is False for found in results.values() for f in found)


def test_pre_commit_runs_the_secret_scanner():
    hooks = yaml.safe_load((PROJECT_ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    entries = [hook["entry"] for repo in hooks["repos"] for hook in repo["hooks"]]
    assert any("detect-secrets-hook" in e and ".secrets.baseline" in e for e in entries), entries


def test_dot_env_is_ignored_and_not_tracked():
    assert _git("check-ignore", "-q", ".env").returncode == 0
    assert _git("check-ignore", "-q", "nested/folder/.env").returncode == 0
    assert ".env" not in _git("ls-files").stdout.splitlines()


def test_the_example_environment_holds_no_secret_value():
    values = dict(
        line.split("=", 1)
        for line in (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    secret_names = [k for k in values if any(w in k for w in ("PASSWORD", "SECRET", "TOKEN"))]
    assert secret_names, "the example names the secret settings"
    assert {k: values[k] for k in secret_names if values[k].strip()} == {}


def test_api_trigger_tokens_are_not_committed():
    files = sorted((PROJECT_ROOT / "mlops" / "pipelines").glob("*/triggers.yaml"))
    triggers = [t for f in files for t in yaml.safe_load(f.read_text(encoding="utf-8"))["triggers"]]
    api = [t for t in triggers if t["schedule_type"] == "api"]
    assert api, "the project has API triggers"
    assert [t["name"] for t in triggers if t.get("token") is not None] == []
