"""What a person sees: the platform's three UIs in headless Chromium, as text and screenshots.

:func:`capture_platform` opens, in one browser (Debian's ``/usr/bin/chromium`` driven by
Playwright; no browser download), after a lifecycle run:

* ``mage_pipelines``: the Mage UI, logged in through its sign-in form, the pipelines list;
* ``mage_triggers``: one pipeline's triggers;
* ``mlflow_runs``: the MLflow UI, the experiment's runs;
* ``mlflow_model``: the registered model's page with its versions and aliases;
* ``evidently_lifecycle_dashboard``: the Evidently project's dashboard (whole page).

Each page is captured once the texts that its server's API says it holds (pipeline and trigger
names, the latest run's name, the model's aliases, the dashboard's panel titles) are visible, or
after a timeout. It returns the page's visible text, the texts still missing and the PNG written
to ``<out_dir>/<page>.png``. ``python -m machine_learning.screenshots`` refreshes ``images/``
from the running platform (``make run`` first; ``make screenshots``).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from machine_learning.config import PROJECT_ROOT, Settings, load_settings
from machine_learning.mage_api import MAGE_CLIENT_ID

CHROMIUM = Path("/usr/bin/chromium")
# Loopback only: no background traffic, no QUIC, no first-run or sync requests.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1400, "height": 900}
EVIDENTLY_PROJECT = "Online gaming engagement"
TRIGGERS_OF = "batch_inference"  # a schedule and an API trigger
PAGES = (
    "mage_pipelines",
    "mage_triggers",
    "mlflow_runs",
    "mlflow_model",
    "evidently_lifecycle_dashboard",
)


class ScreenshotError(RuntimeError):
    """A page that cannot be located (unknown experiment, model or project) or opened."""


@dataclass(frozen=True)
class PlatformTarget:  # pylint: disable=too-many-instance-attributes
    """The running platform to look at: its UIs, the Mage login, what to show."""

    mlflow_url: str
    mage_url: str
    evidently_url: str
    mage_email: str
    mage_password: str
    model_name: str
    experiment_name: str
    evidently_project: str = EVIDENTLY_PROJECT
    triggers_of: str = TRIGGERS_OF

    @classmethod
    def from_settings(cls, settings: Settings) -> "PlatformTarget":
        """The local platform that ``make run`` started with these settings."""
        return cls(
            mlflow_url=settings.mlflow_tracking_uri,
            mage_url=f"http://127.0.0.1:{settings.mage_port}",
            evidently_url=f"http://127.0.0.1:{settings.evidently_ui_port}",
            mage_email=settings.mage_owner_email,
            mage_password=settings.mage_owner_password,
            model_name=settings.model_name,
            experiment_name=settings.experiment_name,
        )


@dataclass(frozen=True)
class PageView:
    """One captured page: where, what it shows, what it did not show in time, its screenshot."""

    name: str
    url: str
    text: str
    screenshot: Path
    missing: tuple[str, ...] = field(default=())

    def shows(self, text: str) -> bool:
        """Whether ``text`` is in the page's visible text."""
        return text in self.text


def _get_json(url: str, timeout: float = 30.0) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read())
    except OSError as error:
        raise ScreenshotError(f"GET {url}: {error}") from error


def _post_json(url: str, payload: Mapping[str, Any], timeout: float = 30.0) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except OSError as error:
        raise ScreenshotError(f"POST {url}: {error}") from error


def _query(base: str, path: str, **params: str) -> str:
    return f"{base.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"


def experiment_id(mlflow_url: str, name: str) -> str:
    """The id of the MLflow experiment called ``name``."""
    url = _query(mlflow_url, "/api/2.0/mlflow/experiments/get-by-name", experiment_name=name)
    return str(_get_json(url)["experiment"]["experiment_id"])


def latest_run_names(mlflow_url: str, experiment: str, count: int = 1) -> list[str]:
    """The names of the experiment's ``count`` most recent runs."""
    payload = {
        "experiment_ids": [experiment],
        "max_results": count,
        "order_by": ["attributes.start_time DESC"],
    }
    runs = _post_json(f"{mlflow_url.rstrip('/')}/api/2.0/mlflow/runs/search", payload)
    return [run["info"]["run_name"] for run in runs.get("runs", [])]


def model_aliases(mlflow_url: str, model_name: str) -> list[str]:
    """The aliases of the registered model ``model_name``."""
    url = _query(mlflow_url, "/api/2.0/mlflow/registered-models/get", name=model_name)
    return [entry["alias"] for entry in _get_json(url)["registered_model"].get("aliases", [])]


def evidently_project(evidently_url: str, name: str) -> dict[str, Any]:
    """The Evidently project called ``name`` (with its dashboard), as the UI's API gives it."""
    projects = _get_json(f"{evidently_url.rstrip('/')}/api/projects")
    matches = sorted((p for p in projects if p["name"] == name), key=lambda p: str(p["id"]))
    if not matches:
        raise ScreenshotError(f"the Evidently UI at {evidently_url} has no project {name!r}")
    return matches[0]


def panel_titles(project: Mapping[str, Any]) -> list[str]:
    """The titles of the project's dashboard panels."""
    return [panel["title"] for panel in (project.get("dashboard") or {}).get("panels", [])]


def _wait_for_texts(page: Page, texts: Sequence[str], timeout_ms: float) -> tuple[str, ...]:
    """Wait until every text is in the page's visible text; return those still missing."""
    script = (
        "texts => { if (!document.body) return false;"
        " const shown = document.body.innerText.replace(/\\u00a0/g, ' ');"
        " return texts.every(t => shown.includes(t)); }"
    )
    try:
        page.wait_for_function(script, arg=list(texts), timeout=timeout_ms, polling=250)
    except PlaywrightTimeout:
        pass
    shown = visible_text(page)
    return tuple(text for text in texts if text not in shown)


def visible_text(page: Page) -> str:
    """The page's visible text, no-break spaces as plain spaces (MLflow's "@ alias" tags)."""
    return page.inner_text("body").replace("\xa0", " ")


def _settle(page: Page, timeout_ms: float = 5000) -> None:
    """Let pending requests finish and the page draw (spinners, plot transitions)."""
    try:
        page.wait_for_load_state("networkidle", timeout=timeout_ms)
    except PlaywrightTimeout:
        pass
    page.wait_for_timeout(750)


def _capture(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    page: Page,
    name: str,
    url: str,
    expected: Sequence[str],
    out_dir: Path,
    timeout_ms: float,
    full_page: bool = False,
) -> PageView:
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    missing = _wait_for_texts(page, expected, timeout_ms)
    _settle(page)
    _close_dialogs(page)
    path = out_dir / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return PageView(name, page.url, visible_text(page), path, missing)


def _close_dialogs(page: Page) -> None:
    """Dismiss announcement pop-ups (MLflow's "new Model Registry UI") that hide the page."""
    dialogs = page.get_by_role("dialog")
    if dialogs.count() == 0 or not dialogs.first.is_visible():
        return
    page.keyboard.press("Escape")
    try:
        dialogs.first.wait_for(state="hidden", timeout=3000)
    except PlaywrightTimeout:
        page.get_by_role("button", name="Close").first.click(timeout=3000)
    page.wait_for_timeout(300)


def sign_in_to_mage(page: Page, target: PlatformTarget, timeout_ms: float) -> None:
    """Log in through the Mage UI's sign-in form, as a person does."""
    page.goto(f"{target.mage_url.rstrip('/')}/sign-in", wait_until="domcontentloaded")
    page.get_by_placeholder("Email").fill(target.mage_email, timeout=timeout_ms)
    page.get_by_placeholder("Password").fill(target.mage_password)
    page.get_by_role("button", name="Sign into Mage").click()
    try:
        page.wait_for_url(lambda url: "sign-in" not in url, timeout=timeout_ms)
    except PlaywrightTimeout as error:
        raise ScreenshotError(
            f"the Mage UI at {target.mage_url} did not accept the login of {target.mage_email}"
        ) from error


def _mage_api(page: Page, base: str, path: str) -> dict[str, Any]:
    """GET ``/api/<path>`` with the browser's session (its cookies), as the UI's own calls do."""
    response = page.context.request.get(f"{base}/api/{path}", headers={"X-API-KEY": MAGE_CLIENT_ID})
    payload = response.json() if response.ok else {}
    if not response.ok or "error" in payload:
        raise ScreenshotError(f"GET {response.url}: HTTP {response.status} {payload.get('error')}")
    return payload


def _mage_pages(
    page: Page, target: PlatformTarget, out_dir: Path, timeout_ms: float
) -> list[PageView]:
    sign_in_to_mage(page, target, timeout_ms)
    base = target.mage_url.rstrip("/")
    pipelines = sorted(p["uuid"] for p in _mage_api(page, base, "pipelines")["pipelines"])
    schedules = _mage_api(page, base, f"pipelines/{target.triggers_of}/pipeline_schedules")
    triggers = [schedule["name"] for schedule in schedules["pipeline_schedules"]]
    return [
        _capture(page, "mage_pipelines", f"{base}/pipelines", pipelines, out_dir, timeout_ms),
        _capture(
            page,
            "mage_triggers",
            f"{base}/pipelines/{target.triggers_of}/triggers",
            triggers,
            out_dir,
            timeout_ms,
        ),
    ]


def _mlflow_pages(
    page: Page, target: PlatformTarget, out_dir: Path, timeout_ms: float
) -> list[PageView]:
    base = target.mlflow_url.rstrip("/")
    experiment = experiment_id(base, target.experiment_name)
    runs = [target.experiment_name, *latest_run_names(base, experiment)]
    model = [target.model_name, *model_aliases(base, target.model_name)]
    model_url = f"{base}/#/models/{urllib.parse.quote(target.model_name, safe='')}"
    return [
        _capture(
            page, "mlflow_runs", f"{base}/#/experiments/{experiment}", runs, out_dir, timeout_ms
        ),
        _capture(page, "mlflow_model", model_url, model, out_dir, timeout_ms),
    ]


def _evidently_page(
    page: Page, target: PlatformTarget, out_dir: Path, timeout_ms: float
) -> PageView:
    base = target.evidently_url.rstrip("/")
    project = evidently_project(base, target.evidently_project)
    url = f"{base}/projects/{project['id']}"
    titles = panel_titles(project)
    name = "evidently_lifecycle_dashboard"
    return _capture(page, name, url, titles, out_dir, timeout_ms, full_page=True)


def launch(playwright: Any, executable: Path = CHROMIUM) -> Browser:
    """Headless Chromium from ``executable`` (Debian's package), loopback-only flags."""
    if not executable.is_file():
        raise ScreenshotError(
            f"{executable} is absent: apt-get install -y chromium (make setup-browser)"
        )
    return playwright.chromium.launch(
        executable_path=str(executable), headless=True, args=list(CHROMIUM_FLAGS)
    )


def capture_platform(
    target: PlatformTarget,
    out_dir: Path,
    executable: Path = CHROMIUM,
    timeout_s: float = 30.0,
) -> dict[str, PageView]:
    """Open the five pages (see the module docstring) and screenshot each into ``out_dir``.

    Returns the captured pages by name, in :data:`PAGES` order.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    timeout_ms = timeout_s * 1000
    with sync_playwright() as playwright:
        browser = launch(playwright, executable)
        try:
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.set_default_timeout(timeout_ms)
            views = [
                *_mage_pages(page, target, out_dir, timeout_ms),
                *_mlflow_pages(page, target, out_dir, timeout_ms),
                _evidently_page(page, target, out_dir, timeout_ms),
            ]
        finally:
            browser.close()
    return {view.name: view for view in views}


def incomplete(views: Iterable[PageView]) -> list[str]:
    """One line per page that did not show all its expected texts."""
    return [f"{view.name}: missing {list(view.missing)}" for view in views if view.missing]


def main(argv: Sequence[str] | None = None) -> int:
    """Refresh the screenshots from the running local platform (settings from the environment)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "images")
    args = parser.parse_args(argv)
    views = capture_platform(PlatformTarget.from_settings(load_settings()), args.out)
    for view in views.values():
        print(f"{view.screenshot}  {view.url}")
    problems = incomplete(views.values())
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
