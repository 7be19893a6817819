"""Kintai Hub: a self-hosted attendance integration hub.

Plugins import what they need from here: ``from hub import hookimpl``.
"""

from hub.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "create_app", "hookimpl"]


def create_app(*args, **kwargs):
    """Build the Flask application (see :func:`hub.app.create_app`)."""
    from hub.app import create_app as _create_app

    return _create_app(*args, **kwargs)
