"""Headless Chromium opens the Evidently dashboard: every panel rendered; a screenshot is saved."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from pathlib import Path

import pytest

from machine_learning.config import PROJECT_ROOT
from machine_learning.monitoring import PROJECT_NAME, dashboard_panels

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = PROJECT_ROOT / "images" / "evidently_dashboard.png"
WINDOW = "1400,2900"
RENDER_BUDGET_MS = "20000"  # virtual time for the page to fetch and draw its panels


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium (loopback only; no background traffic) with a fresh profile."""
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW}",
        f"--virtual-time-budget={RENDER_BUDGET_MS}",
    ]
    return subprocess.run(
        [str(CHROMIUM), *flags, *args], capture_output=True, text=True, timeout=180, check=False
    )


@pytest.fixture(scope="module")
def dashboard_url(evidently_ui) -> str:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install -y chromium (make setup-browser)")
    with urllib.request.urlopen(evidently_ui.url + "/api/projects", timeout=30) as response:
        [project] = [p for p in json.loads(response.read()) if p["name"] == PROJECT_NAME]
    return f"{evidently_ui.url}/projects/{project['id']}"


def test_dashboard_panels_render_in_a_browser(dashboard_url, tmp_path):
    result = chromium(tmp_path / "profile-dom", "--dump-dom", dashboard_url)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    for panel in dashboard_panels():
        text = getattr(panel, "text", None) or panel.title
        assert text in dom, f"panel {panel.title!r} is not on the page"
    plots = sum(1 for p in dashboard_panels() if type(p).__name__ != "DashboardPanelCounter")
    plotted = len(re.findall(r'class="main-svg"', dom))
    assert plotted >= plots, f"{plotted} plotly surfaces for {plots} plot panels"
    assert "Error" not in re.sub(r"<script.*?</script>", "", dom, flags=re.S)


def test_dashboard_screenshot_is_saved(dashboard_url, tmp_path):
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    result = chromium(tmp_path / "profile-shot", f"--screenshot={SCREENSHOT}", dashboard_url)
    assert result.returncode == 0, result.stderr[-2000:]
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 20_000 < SCREENSHOT.stat().st_size < 1_000_000
