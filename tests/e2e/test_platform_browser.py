"""What a person sees after a lifecycle run, in headless Chromium: the Mage UI (logged in: the
pipelines and one pipeline's triggers), the MLflow UI (the experiment's runs, the registered
model with its aliases) and the Evidently dashboard. The screenshots go to images/ for the docs.
"""

from __future__ import annotations

import re
import struct

import pytest
import yaml
from mlflow.tracking import MlflowClient

from machine_learning.config import PROJECT_ROOT
from machine_learning.monitoring import dashboard_panels
from machine_learning.screenshots import CHROMIUM, PAGES, PlatformTarget, capture_platform

# The shared platform fixture (up + a lifecycle run) can take longer than the default timeout.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3000)]

IMAGES = PROJECT_ROOT / "images"
MAGE_PROJECT = PROJECT_ROOT / "mlops"
TRIGGERS_OF = "batch_inference"


@pytest.fixture(scope="module")
def views(lifecycle_platform):
    """The five pages, captured once in one browser; screenshots written to images/."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install -y chromium (make setup-browser)")
    target = PlatformTarget(
        mlflow_url=lifecycle_platform.mlflow_url,
        mage_url=lifecycle_platform.mage_url,
        evidently_url=lifecycle_platform.evidently_url,
        mage_email=lifecycle_platform.mage_email,
        mage_password=lifecycle_platform.mage_password,
        model_name=lifecycle_platform.model_name,
        experiment_name=lifecycle_platform.experiment_name,
        triggers_of=TRIGGERS_OF,
    )
    return capture_platform(target, IMAGES)


@pytest.fixture(scope="module")
def mlflow_client(lifecycle_platform) -> MlflowClient:
    return MlflowClient(
        tracking_uri=lifecycle_platform.mlflow_url, registry_uri=lifecycle_platform.mlflow_url
    )


def png_size(path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def version_rows(text: str) -> dict[str, str]:
    """The registered model page's text per version row ("Version 3" up to the next row)."""
    parts = re.split(r"^Version (\d+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_every_page_is_captured_as_a_real_screenshot(views):
    assert list(views) == list(PAGES)
    for view in views.values():
        assert view.screenshot.parent == IMAGES
        width, height = png_size(view.screenshot)
        assert width == 1400 and height >= 900, f"{view.name}: {width}x{height}"
        # A blank page or a lone spinner compresses to a few kB; a rendered page does not.
        assert view.screenshot.stat().st_size > 30_000, f"{view.name} looks blank"
        assert not view.missing, f"{view.name} never showed {view.missing}"


def test_mage_shows_every_pipeline_once_logged_in(views, lifecycle_platform):
    page = views["mage_pipelines"]
    assert "/sign-in" not in page.url and "Sign into Mage" not in page.text
    absent = [name for name in lifecycle_platform.pipelines if name not in page.text]
    assert not absent, f"pipelines absent from the Mage list: {absent}"


def test_mage_shows_the_triggers_of_a_pipeline(views):
    page = views["mage_triggers"]
    assert page.url.endswith(f"/pipelines/{TRIGGERS_OF}/triggers")
    spec = yaml.safe_load((MAGE_PROJECT / "pipelines" / TRIGGERS_OF / "triggers.yaml").read_text())
    names = [trigger["name"] for trigger in spec["triggers"]]
    assert names, "the pipeline's triggers.yaml declares no trigger"
    absent = [name for name in names if name not in page.text]
    assert not absent, f"triggers absent from the page: {absent}"


def test_mlflow_shows_the_experiment_runs(views, lifecycle_platform, mlflow_client):
    page = views["mlflow_runs"]
    assert lifecycle_platform.experiment_name in page.text
    experiment = mlflow_client.get_experiment_by_name(lifecycle_platform.experiment_name)
    [latest] = mlflow_client.search_runs(
        [experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=1
    )
    assert latest.info.run_name in page.text


def test_mlflow_shows_the_model_and_its_production_alias(views, lifecycle_platform, mlflow_client):
    page = views["mlflow_model"]
    assert lifecycle_platform.model_name in page.text
    production = mlflow_client.get_model_version_by_alias(
        lifecycle_platform.model_name, "production"
    )
    rows = version_rows(page.text)
    assert production.version in rows, f"no row of version {production.version}: {list(rows)}"
    assert "@ production" in rows[production.version]
    others = [v for v, row in rows.items() if v != production.version and "@ production" in row]
    assert not others, f"the production alias is also shown on versions {others}"


def test_evidently_shows_every_dashboard_panel(views):
    page = views["evidently_lifecycle_dashboard"]
    absent = [panel.title for panel in dashboard_panels() if panel.title not in page.text]
    assert not absent, f"dashboard panels absent from the page: {absent}"
