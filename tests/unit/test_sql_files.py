"""The statement files under include/sql: every name the code loads exists, and each file says what it is for.

sa.text binds ``:name`` anywhere in a statement, comments included, so a header may only name the parameters
the statement itself binds (a stale one would demand a value the caller does not pass)."""

import ast
import re
from pathlib import Path

from dtks.config import PROJECT_ROOT, SQL_DIR
from dtks.warehouse import read_sql

# Run as scripts (no binds) or applied by the migration runner: not statements loaded with read_sql.
_NOT_STATEMENTS = ("migrations", "objects")
_BIND = re.compile(r"(?<![:\w\\]):([A-Za-z_]\w*)")  # SQLAlchemy's own rule for text() binds
_LITERALS = re.compile(r"'(?:[^']|'')*'")
_COMMENT = re.compile(r"--[^\n]*")


def _statement_files() -> list[Path]:
    return [p for p in sorted(SQL_DIR.rglob("*.sql")) if p.relative_to(SQL_DIR).parts[0] not in _NOT_STATEMENTS]


def _names_loaded() -> dict[str, str]:
    """Every literal read_sql("…") name in the code, with where it is loaded."""
    found = {}
    for folder in ("dtks", "plugins", "dags"):
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "id", getattr(node.func, "attr", None)) == "read_sql"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    found[node.args[0].value] = f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"
    return found


def test_every_statement_the_code_loads_exists():
    loaded = _names_loaded()
    assert "intake/register_submission.sql" in loaded  # the scan sees the calls at all
    assert {name: where for name, where in loaded.items() if not (SQL_DIR / name).is_file()} == {}


def test_every_statement_file_opens_with_what_it_is_for():
    assert [
        str(p.relative_to(SQL_DIR)) for p in _statement_files() if not p.read_text(encoding="utf-8").startswith("-- ")
    ] == []


def test_a_header_names_only_parameters_the_statement_binds():
    stale = {}
    for path in _statement_files():
        text = path.read_text(encoding="utf-8")  # comments first: their apostrophes ("district's") open no literal
        in_comments = set(_BIND.findall(" ".join(_COMMENT.findall(text))))
        in_code = set(_BIND.findall(_LITERALS.sub("", _COMMENT.sub("", text))))
        if in_comments - in_code:
            stale[str(path.relative_to(SQL_DIR))] = sorted(in_comments - in_code)
    assert stale == {}


def test_a_header_is_not_sent_so_a_bound_value_cannot_end_it():
    # read_sql drops the comment lines: a file name with a line break, bound into a header's ":name",
    # would end the comment and be read as SQL (tests/ingest/test_hostile.py sends such a name).
    sent = {str(p.relative_to(SQL_DIR)): read_sql(str(p.relative_to(SQL_DIR))) for p in _statement_files()}
    in_comments = {name: _BIND.findall(" ".join(_COMMENT.findall(text))) for name, text in sent.items()}
    assert {name: binds for name, binds in in_comments.items() if binds} == {}
    assert ":name" in (SQL_DIR / "intake/register_submission.sql").read_text(encoding="utf-8").split("INSERT")[0]


_SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b[\s\S]*\b(FROM|INTO|SET)\b")


def test_no_statement_of_five_lines_or_more_is_written_inline():
    # Such statements live in include/sql, named for what they do, where an auditor reads them.
    inline = []
    for folder in ("dtks", "plugins", "dags"):
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and node.end_lineno is not None
                    and node.end_lineno - node.lineno >= 4
                    and _SQL_WORDS.search(node.value)
                ):
                    inline.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    assert inline == []
