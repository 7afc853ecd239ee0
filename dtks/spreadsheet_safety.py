"""The one rule that keeps text written to CSV/XLSX from running as a spreadsheet formula.

Every file a person opens in a spreadsheet (district feedback, reports, the
auditor page's CSV downloads and masked views) passes its text cells through
:func:`neutralise_formula`: a cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return gets a leading ``'`` (OWASP "CSV injection"), unless
the whole cell is a plain number such as ``-1.5`` or ``+3``, which a spreadsheet
reads as that number and never as a formula.
"""

from __future__ import annotations

import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralise_formula(text: str) -> str:
    """``'=1+1`` for ``=1+1``; plain numbers and ordinary text unchanged."""
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(text.strip()):
        return "'" + text
    return text
