"""The CSV exporter's own messages (translations/ja/LC_MESSAGES/csv_export.po), kept up to date by `make babel`."""

from hub.catalogs import plugin_catalog

catalog = plugin_catalog(__package__)
_ = catalog.gettext
_l = catalog.lazy_gettext
