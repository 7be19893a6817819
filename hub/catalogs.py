"""A plugin's own message catalogue, so that a pip-installed plugin can speak Japanese too.

The core's catalogue holds the core's strings only. A plugin ships ``translations/<lang>/LC_MESSAGES/<domain>.mo``
inside its package and translates with the Flask-Babel domain :func:`plugin_catalog` returns: the same locale as
the core's ``gettext`` (the page's, the command's, a sync's forced one), looked up in the plugin's files.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from flask_babel import Domain


def plugin_catalog(package: str, domain: str | None = None) -> Domain:
    """The translations of ``package``, read from its ``translations/`` folder, under ``domain``.

    ``domain`` is the catalogue's file name without ``.mo``; it defaults to the package's last name
    (``hub_plugins.jobcan`` reads ``jobcan.mo``). The domain's ``gettext``, ``ngettext``, ``pgettext``,
    ``lazy_gettext`` and ``lazy_ngettext`` work as Flask-Babel's functions of the same names, in any thread
    that has an app context (Flask-Babel keeps the locale in ``flask.g``; the loaded catalogues are shared).
    Outside an app context, or in a language the plugin has no catalogue for, they return the text as given.
    """
    folder = Path(str(files(package) / "translations"))
    if not folder.is_dir():
        raise FileNotFoundError(f"{package} has no translations folder ({folder}); see docs/plugins.md.")
    return Domain(translation_directories=[str(folder)], domain=domain or package.rpartition(".")[2])
