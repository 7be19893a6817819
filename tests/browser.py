"""Helpers for tests that drive Debian's Chromium with Playwright: the hub served on loopback, the browser,
screenshots under ``test-artifacts/``, and the Japanese text of a message as the user sees it."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Domain, gettext
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def chromium_or_skip() -> Path:
    """Debian's Chromium; without it the test is skipped, except on CI where `.ci/run` must install it."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing on CI: .ci/run installs it with apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium fonts-noto-cjk (as root)")
    return CHROMIUM


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="hub-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class Screenshots:
    """Full-page screenshots numbered in the order taken: ``test-artifacts/<name>/NN-step.png``."""

    def __init__(self, name: str):
        self.folder = ARTIFACTS / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.taken: list[Path] = []

    def take(self, page, step: str) -> Path:
        path = self.folder / f"{len(self.taken) + 1:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


def japanese(app: Flask, message: str, catalog: Domain | None = None, **variables) -> str:
    """``message`` as the Japanese UI shows it (the source text while it is still untranslated).

    A plugin's string is in the plugin's ``catalog`` (e.g. ``hub_plugins.csv_export.catalog.catalog``).
    """
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        return (catalog.gettext if catalog else gettext)(message, **variables)
