"""The Flask extensions, created unbound here and bound to an app in the factory."""

import ipaddress
import sqlite3

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    # Named constraints so that Alembic can alter them on SQLite and PostgreSQL alike.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, connection_record):
    # SQLite ignores ON DELETE rules unless asked, per connection.
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")  # wait for a sync's write instead of failing at once
        cursor.execute("PRAGMA journal_mode=WAL")  # pages read while a sync writes
        cursor.close()


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def client_network() -> str:
    """The key of every address-based limit: an IPv4 client's address, an IPv6 client's /64 network.

    One subscriber (so one attacker) usually gets a whole /64 and may use any of its addresses; counting each
    address apart would multiply their attempts. An IPv4 address on a dual-stack socket (``::ffff:a.b.c.d``)
    stays one IPv4 address. Behind ``HUB_TRUSTED_PROXIES`` the address is the forwarded one (hub.security).
    """
    address = get_remote_address()
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


limiter = Limiter(key_func=client_network)
