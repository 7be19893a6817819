"""`pip install .` (not only editable) gives a working hub with its templates, migrations and catalog."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        timeout=300,
    )
    return next(out.glob("kintai_hub-*.whl"))


@pytest.mark.slow
def test_wheel_carries_templates_migrations_static_and_translations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "hub/templates/base.html",
        "hub/templates/members/import.html",
        "hub/migrations/env.py",
        "hub/migrations/alembic.ini",
        "hub/migrations/script.py.mako",
        "hub/static/hub.css",
        "hub/translations/ja/LC_MESSAGES/messages.mo",
        "hub_plugins/jobcan/translations/ja/LC_MESSAGES/jobcan.mo",
        "hub_plugins/csv_export/translations/ja/LC_MESSAGES/csv_export.mo",
        "hub_plugins/kingoftime/translations/ja/LC_MESSAGES/kingoftime.mo",
        "hub/auth/common_passwords.txt",
    ):
        assert expected in names
    assert any(name.startswith("hub/migrations/versions/") and name.endswith("_initial_schema.py") for name in names)


@pytest.mark.slow
def test_installed_hub_migrates_and_serves_the_login_page(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    env = dict(os.environ, PYTHONPATH=str(target), HUB_INSTANCE_PATH=str(tmp_path / "instance"))
    script = (
        "import sys, hub, hub.app\n"
        "target = sys.argv[1]\n"
        "assert hub.__file__.startswith(target), hub.__file__\n"
        "from hub.cli import main\n"
        "sys.argv = ['hub', 'db', 'upgrade']\n"
        "try: main()\n"
        "except SystemExit as e: assert not e.code, e.code\n"
        "app = hub.create_app()\n"
        "assert app.template_folder.startswith(target), app.template_folder\n"
        "page = app.test_client().get('/login')\n"
        "assert page.status_code == 200 and 'ログイン' in page.get_data(as_text=True)\n"
        "from hub_plugins.csv_export.catalog import _\n"
        "import hub_plugins\n"
        "assert hub_plugins.__file__.startswith(target), hub_plugins.__file__\n"
        "with app.test_request_context(headers={'Accept-Language': 'ja'}):\n"
        "    assert _('Format') == '形式'  # a plugin's own catalogue, installed as package data\n"
        "from hub.auth.passwords import common_passwords\n"
        "assert '1234567890' in common_passwords()\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(target)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
    assert (tmp_path / "instance" / "hub.sqlite3").exists()
