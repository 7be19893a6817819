"""The `hub` console script as an admin runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HUB = Path(sys.executable).parent / "hub"


def hub(*args, env=None, input=None):
    return subprocess.run([str(HUB), *args], capture_output=True, text=True, env=env, input=input, timeout=120)


def test_help_lists_the_commands(tmp_path):
    result = hub("--help", env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    for command in ("db", "create-admin", "keys", "members", "plugins", "run"):
        assert f"  {command}" in result.stdout
    assert "--app" not in result.stdout


def test_db_upgrade_then_create_admin_on_a_fresh_instance(tmp_path):
    env = dict(os.environ)
    result = hub("db", "upgrade", env=env)
    assert result.returncode == 0, result.stderr
    assert "Running upgrade" in result.stderr
    assert (tmp_path / "instance" / "hub.sqlite3").exists()
    result = hub("create-admin", "first@example.com", "--password-stdin", env=env, input="a long password\n")
    assert result.returncode == 0, result.stderr
    assert "Admin first@example.com created." in result.stdout


def test_keys_generate_touches_no_instance_folder(tmp_path):
    result = hub("keys", "generate", env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) == 44 and not (tmp_path / "instance").exists()
