"""One placeholder style in SQL files: bound parameters (``:name``, arrays with ``= ANY(:ids)``), never text
formatted into the statement."""

import re

from dtks.config import SQL_DIR

# Text in quotes ('{archive_path}' is a jsonb path) and comments are not statements' placeholders.
_LITERALS_AND_COMMENTS = re.compile(r"'(?:[^']|'')*'|--[^\n]*")


def test_no_sql_file_has_a_format_placeholder():
    found = {}
    for path in sorted(SQL_DIR.rglob("*.sql")):
        code = _LITERALS_AND_COMMENTS.sub("", path.read_text(encoding="utf-8"))
        if placeholders := re.findall(r"\{[A-Za-z_][A-Za-z0-9_]*\}", code):
            found[str(path.relative_to(SQL_DIR))] = placeholders
    assert found == {}
