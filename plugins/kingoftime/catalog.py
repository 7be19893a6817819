"""KING OF TIME's own messages (translations/ja/LC_MESSAGES/kingoftime.po): `make babel` extracts and compiles them."""

from hub.catalogs import plugin_catalog

catalog = plugin_catalog(__package__)
_ = catalog.gettext
_l = catalog.lazy_gettext
