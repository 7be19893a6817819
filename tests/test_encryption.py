"""Secrets at rest: MultiFernet encryption, key rotation, and no secret in pages, logs or the audit log."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet

from hub.encryption import SecretBox, SecretDecryptError
from hub.extensions import db
from hub.models import AuditLog, Integration
from tests.conftest import make_app

SECRET = "jobcan-secret-VALUE-123"


def test_secret_box_round_trip_and_unreadable_without_key():
    box = SecretBox([Fernet.generate_key().decode()])
    token = box.encrypt({"client_secret": SECRET})
    assert SECRET not in token
    assert box.decrypt(token) == {"client_secret": SECRET}
    with pytest.raises(SecretDecryptError, match="HUB_ENCRYPTION_KEYS"):
        SecretBox([Fernet.generate_key().decode()]).decrypt(token)
    assert "key" in repr(box) and Fernet.generate_key().decode() not in repr(box)


def _store(app) -> int:
    with app.app_context():
        integration = Integration(provider="jobcan", name="本社", settings={"client_id": "abc"})
        integration.write_secrets({"client_secret": SECRET})
        db.session.add(integration)
        db.session.commit()
        return integration.id


def test_keys_rotate_re_encrypts_with_the_newest_key(tmp_path, caplog):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    app = make_app(tmp_path, HUB_ENCRYPTION_KEYS=[old])
    integration_id = _store(app)
    with app.app_context():
        before = db.session.get(Integration, integration_id).secrets_token

    # The admin puts a new key first and runs `hub keys rotate`.
    same_database = app.config["SQLALCHEMY_DATABASE_URI"]
    rotated_app = make_app(tmp_path, HUB_ENCRYPTION_KEYS=[new, old], SQLALCHEMY_DATABASE_URI=same_database)
    caplog.set_level(logging.DEBUG)
    result = rotated_app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted the secrets of 1 integration(s)" in result.output
    with rotated_app.app_context():
        token = db.session.get(Integration, integration_id).secrets_token
        assert token != before
        entry = db.session.query(AuditLog).filter_by(action="keys.rotate").one()
        assert entry.details == {"secrets": 1}
    # Only the new key is needed now; the old one alone can no longer read it.
    assert SecretBox([new]).decrypt(token) == {"client_secret": SECRET}
    with pytest.raises(SecretDecryptError):
        SecretBox([old]).decrypt(token)
    assert SECRET not in result.output and SECRET not in caplog.text


def test_rotate_with_a_missing_key_changes_nothing(tmp_path):
    app = make_app(tmp_path, HUB_ENCRYPTION_KEYS=[Fernet.generate_key().decode()])
    integration_id = _store(app)
    with app.app_context():
        before = db.session.get(Integration, integration_id).secrets_token
    wrong = make_app(
        tmp_path,
        HUB_ENCRYPTION_KEYS=[Fernet.generate_key().decode()],
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
    )
    result = wrong.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 1
    assert "cannot be decrypted" in result.output and "Nothing was changed." in result.output
    with wrong.app_context():
        assert db.session.get(Integration, integration_id).secrets_token == before


def test_keys_generate_prints_a_usable_key(runner):
    key = runner.invoke(args=["keys", "generate"]).output.strip()
    Fernet(key)


def test_secret_stays_out_of_pages_and_database_columns(app, logged_in):
    integration_id = _store(app)
    for path in ["/", "/admin/settings/", "/admin/members/"]:
        assert SECRET not in logged_in.get(path).get_data(as_text=True)
    with app.app_context():
        integration = db.session.get(Integration, integration_id)
        assert SECRET not in str(integration.settings) and SECRET not in repr(integration)
        assert SECRET not in integration.secrets_token
        assert integration.read_secrets() == {"client_secret": SECRET}
