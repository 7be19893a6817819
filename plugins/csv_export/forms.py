"""The CSV exporter's options: the format and the encoding."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField

from hub_plugins.csv_export.catalog import _l


class CsvOptionsForm(FlaskForm):
    format = SelectField(
        _l("Format"),
        choices=[
            SelectChoice("crowdlog", _l("crowdlog — CrowdLog attendance import (one row per member and day)")),
            SelectChoice("daily", _l("daily — one row per member and day, with man-hours and marks")),
            SelectChoice("monthly", _l("monthly — one row per member and month")),
        ],
        default="crowdlog",
    )
    encoding = SelectField(
        _l("Encoding"),
        choices=[
            SelectChoice("utf-8-sig", _l("UTF-8 with BOM (Excel)")),
            SelectChoice("utf-8", _l("UTF-8 without BOM")),
            SelectChoice("cp932", _l("CP932 (Shift_JIS, older Excel and systems)")),
        ],
        default="utf-8-sig",
    )
