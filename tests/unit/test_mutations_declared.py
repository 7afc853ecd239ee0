"""The mutations `make mutate` applies still fit the code: every pattern occurs as declared, every test exists.

`make mutate` itself takes a quarter of an hour and is not part of `make test`;
this check is instant, so a change that moves a line a mutation points at fails
here, in the same commit, with the mutation's id (CONTRIBUTING.md, step 4).
"""

from __future__ import annotations

import re

import pytest

from tests.mutate import ROOT, Mutation, load

MUTATIONS = load()


def test_ids_are_unique_and_the_list_is_not_empty():
    ids = [m.id for m in MUTATIONS]
    assert len(ids) >= 15 and len(ids) == len(set(ids))


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.id)
def test_pattern_occurs_as_declared_and_changes_the_file(mutation: Mutation):
    path = ROOT / mutation.file
    assert path.is_file(), f"{mutation.id}: {mutation.file} does not exist"
    text = path.read_text(encoding="utf-8")
    mutated, found = mutation.apply(text)
    assert found == mutation.count, (
        f"{mutation.id}: pattern found {found} time(s) in {mutation.file}, declared {mutation.count}: "
        "update tests/mutations.toml with the code"
    )
    assert mutated != text


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.id)
def test_its_tests_exist(mutation: Mutation):
    for node in mutation.tests:
        file, _, name = node.partition("::")
        path = ROOT / file
        assert path.is_file(), f"{mutation.id}: {file} does not exist"
        if name:
            function = re.sub(r"\[.*\]$", "", name)
            assert re.search(rf"^def {re.escape(function)}\(", path.read_text(encoding="utf-8"), re.M), (
                f"{mutation.id}: no test {function} in {file}"
            )


def test_literal_and_regex_patterns():
    literal = Mutation("x", "p", "f", "a < b", "a <= b", ("t",), count=2)
    assert literal.apply("a < b; a < b") == ("a <= b; a <= b", 2)
    regex = Mutation("x", "p", "f", r"at < (r\.)?until", r"at <= \1until", ("t",), regex=True, count=2)
    assert regex.apply("at < until, at < r.until") == ("at <= until, at <= r.until", 2)
