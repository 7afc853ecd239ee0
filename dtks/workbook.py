"""XLSX bytes that depend on a workbook's content only.

Every spreadsheet the project publishes (district feedback, the round's district
table) is written through ``deterministic_xlsx``: fixed document and zip times,
so writing the same content again gives the same bytes and a file's hash can be
compared across runs.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone

from openpyxl import Workbook

_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def deterministic_xlsx(workbook: Workbook, when: datetime) -> bytes:
    """The workbook as XLSX bytes that depend on its content only (fixed document and zip times)."""
    from openpyxl.writer.excel import ExcelWriter

    stamp = when.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    workbook.properties.creator = "DTKS pemutakhiran"
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()
