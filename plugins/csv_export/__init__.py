"""CSV exporter plugin (crowdlog, daily and monthly formats), registered through the ``kintai_hub`` entry point."""

from __future__ import annotations

from hub import hookimpl


@hookimpl
def hub_exporters():
    from hub_plugins.csv_export.exporter import CsvExporter

    return [CsvExporter()]
