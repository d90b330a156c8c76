"""Browser fixtures: the app served by gunicorn on 127.0.0.1 from its real
migrations, driven by Playwright in Debian's Chromium (never a downloaded one)."""

import os
from pathlib import Path

import pytest

from todoapp import ROOT

from ..conftest import PASSWORD, dispose, make_app
from ..live import gunicorn

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / ".e2e-node" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 375, "height": 740}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def server(databases, tmp_path_factory):
    url = databases.migrated()
    app = make_app(url)
    with app.app_context():
        from todoapp.services import users

        users.create_user("root", PASSWORD, is_admin=True)
    dispose(app)
    # Every test registers its own users, all from 127.0.0.1: more than one
    # address may register in an hour (tests/test_throttle.py tests that limit).
    env = {"REGISTRATIONS_PER_IP": "10000"}
    with gunicorn(url, tmp_path_factory.mktemp("e2e-logs"), workers=2, env=env) as running:
        yield running.url


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make e2e` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium, server):
    """Pages in fresh browser contexts (no cookies), closed after the test."""
    contexts = []

    def make(**options):
        options.setdefault("viewport", DESKTOP)
        context = chromium.new_context(base_url=server, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []  # what the page asked, in order
        page.accept_dialogs = True  # a test may set False: Cancel

        def answer(dialog):  # "Delete forever? This cannot be undone." -> yes
            page.dialogs.append(dialog.message)
            dialog.accept() if page.accept_dialogs else dialog.dismiss()

        page.on("dialog", answer)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


def check_accessibility(page, label):
    """Run axe-core in the page; fail on any serious or critical violation."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make e2e` installs axe-core from npm")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{label}: " + "; ".join(bad)
