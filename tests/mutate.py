"""`make mutate`: break each declared promise (tests/mutations.toml) in a scratch copy and check its tests fail.

The working tree is copied once (the files git tracks or would track, so
uncommitted work is included) into a temporary folder; each mutation is applied
to that copy, its small test subset runs there with the venv's Python (the copy's
``dtks`` and ``tests`` come first on the path), and the file is restored before
the next one. The real tree is never written. The copy's tests use the same
PostgreSQL server as the tree's (``DTKS_TEST_SERVER_URL``); each pytest session
makes its own template database, migrated from the copy's (possibly mutated)
migrations.

First, every subset runs once on the unmutated copy: a subset that fails there
cannot say anything about a mutation. Then one line per mutation:

* caught     – at least one test of the subset failed;
* crash only – only a fixture errored: no assertion states the promise (not enough);
* survived   – every test passed: the promise is not checked;
* not applied – the pattern no longer occurs ``count`` times: update the declaration.

Exit status 0 only when every mutation is caught. Options: ``--only id,id``,
``--list``, ``--timeout SECONDS`` (per subset), ``--keep`` (leave the scratch copy).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DECLARED = ROOT / "tests" / "mutations.toml"


@dataclass(frozen=True)
class Mutation:
    id: str
    promise: str
    file: str
    pattern: str
    replacement: str
    tests: tuple[str, ...]
    regex: bool = False
    count: int = 1

    def apply(self, text: str) -> tuple[str, int]:
        """The mutated text and how many times the pattern occurred."""
        if self.regex:
            return re.subn(self.pattern, self.replacement, text)
        return text.replace(self.pattern, self.replacement), text.count(self.pattern)


@dataclass
class Outcome:
    verdict: str
    tests: int = 0
    failed: int = 0
    errors: int = 0
    seconds: float = 0.0
    first_failure: str = ""
    notes: list[str] = field(default_factory=list)


def load(path: Path = DECLARED) -> list[Mutation]:
    with path.open("rb") as f:
        entries = tomllib.load(f).get("mutation", [])
    known = {"id", "promise", "file", "pattern", "replacement", "tests", "regex", "count"}
    mutations, seen = [], set()
    for n, entry in enumerate(entries, start=1):
        if unknown := set(entry) - known:
            raise ValueError(f"{path.name}: mutation #{n} has unknown keys {sorted(unknown)}")
        missing = {"id", "promise", "file", "pattern", "replacement", "tests"} - set(entry)
        if missing:
            raise ValueError(f"{path.name}: mutation #{n} lacks {sorted(missing)}")
        if entry["id"] in seen:
            raise ValueError(f"{path.name}: mutation id {entry['id']!r} is declared twice")
        if not entry["tests"]:
            raise ValueError(f"{path.name}: mutation {entry['id']!r} names no tests")
        seen.add(entry["id"])
        mutations.append(Mutation(**{**entry, "tests": tuple(entry["tests"])}))
    return mutations


def _tracked_files(root: Path) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout
    return [p for p in out.decode().split("\0") if p]


def scratch_copy(root: Path, dest: Path) -> None:
    """The working tree as git sees it (tracked and untracked, not ignored: no venv, var/, caches)."""
    for rel in _tracked_files(root):
        source = root / rel
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)


def _server_url() -> str:
    from dtks import warehouse

    base = (
        os.environ.get("DTKS_TEST_SERVER_URL")
        or os.environ.get("DTKS_WAREHOUSE_URL")
        or warehouse.embedded_server_url()
    )
    return warehouse.normalise_url(base)


def _environment(tree: Path, server_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DTKS_")}
    (tree / "var" / "run").mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "DTKS_TEST_SERVER_URL": server_url,
            "GX_ANALYTICS_ENABLED": "false",
            "XDG_RUNTIME_DIR": str(tree / "var" / "run"),
            # never a stale .pyc: a mutation of the same length within the same second would not be seen
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.pop("PYTHONPATH", None)
    return env


def run_subset(tree: Path, tests: list[str], env: dict, timeout: float, report: Path) -> Outcome:
    """Run pytest on ``tests`` inside the scratch copy; read the JUnit report for failures vs errors."""
    report.unlink(missing_ok=True)
    started = time.monotonic()
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-x",
        "-p",
        "no:cacheprovider",
        f"--junitxml={report}",
        "-o",
        "junit_family=xunit2",
        *tests,
    ]
    try:
        proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Outcome("timeout", seconds=time.monotonic() - started)
    seconds = time.monotonic() - started
    if not report.exists():
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        return Outcome("no report", seconds=seconds, notes=tail)
    suites = ET.parse(report).getroot()
    suites = [suites] if suites.tag == "testsuite" else list(suites)
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) for s in suites)
    errors = sum(int(s.get("errors", 0)) for s in suites)
    first = _first_problem(ET.parse(report).getroot())
    if failed:
        verdict = "caught"
    elif errors:
        verdict = "crash only"
    elif total == 0:
        verdict = "no tests ran"
    else:
        verdict = "survived"
    return Outcome(verdict, total, failed, errors, seconds, first)


def _first_problem(root: ET.Element) -> str:
    for case in root.iter("testcase"):
        for child in case:
            if child.tag in ("failure", "error"):
                message = ((child.get("message") or child.tag).splitlines() or [""])[0]
                # (test data is synthetic, but identifiers stay out of printed output all the same)
                message = re.sub(r"([0-9]{4})[0-9]{10}([0-9]{2})", r"\1**********\2", message)
                return f"{case.get('name')} ({child.tag}): {message[:100]}"
    return ""


def _table(rows: list[tuple[Mutation, Outcome]]) -> str:
    head = ("mutation", "file", "result", "tests", "failed", "seconds")
    body = [(m.id, m.file, o.verdict, str(o.tests), str(o.failed + o.errors), f"{o.seconds:.0f}") for m, o in rows]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    line = "  ".join("-" * w for w in widths)
    fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([fmt(head), line, *map(fmt, body), line])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make mutate", description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated mutation ids")
    parser.add_argument("--list", action="store_true", help="list the declared mutations and exit")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per test subset (default 900)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy (its path is printed)")
    args = parser.parse_args(argv)

    mutations = load()
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        unknown = set(wanted) - {m.id for m in mutations}
        if unknown:
            parser.error(f"unknown mutation id(s): {', '.join(sorted(unknown))}")
        mutations = [m for m in mutations if m.id in wanted]
    if args.list:
        for m in mutations:
            print(f"{m.id:32} {m.file}\n{'':32} {m.promise}")
        return 0

    scratch = Path(tempfile.mkdtemp(prefix="dtks-mutate-"))
    tree = scratch / "tree"
    try:
        scratch_copy(ROOT, tree)
        env = _environment(tree, _server_url())
        where = subprocess.run(
            [sys.executable, "-c", "import dtks, tests; print(dtks.__file__, tests.__file__)"],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if not all(Path(p).resolve().is_relative_to(tree.resolve()) for p in where):
            print(f"the scratch copy would not test itself (imports resolve to {where}); stopping", file=sys.stderr)
            return 2
        report = scratch / "junit.xml"

        subsets = list(dict.fromkeys(t for m in mutations for t in m.tests))
        print(f"scratch copy: {tree}\nbaseline: {len(subsets)} test subset(s) on the unmutated copy …", flush=True)
        baseline = run_subset(tree, subsets, env, args.timeout * 2, report)
        print(
            f"baseline: {baseline.tests} tests, {baseline.failed + baseline.errors} failing, {baseline.seconds:.0f} s",
            flush=True,
        )
        if baseline.verdict != "survived":
            print(
                f"the subsets must pass on the unmutated code first ({baseline.verdict}: {baseline.first_failure}"
                f"{' '.join(baseline.notes)})",
                file=sys.stderr,
            )
            return 2

        results: list[tuple[Mutation, Outcome]] = []
        for m in mutations:
            path = tree / m.file
            original = path.read_text(encoding="utf-8") if path.exists() else None
            if original is None:
                outcome = Outcome("not applied", notes=[f"{m.file} does not exist"])
            else:
                mutated, found = m.apply(original)
                if found != m.count:
                    outcome = Outcome("not applied", notes=[f"pattern found {found} time(s), declared {m.count}"])
                else:
                    path.write_text(mutated, encoding="utf-8")
                    try:
                        outcome = run_subset(tree, list(m.tests), env, args.timeout, report)
                    finally:
                        path.write_text(original, encoding="utf-8")
            results.append((m, outcome))
            detail = outcome.first_failure or " ".join(outcome.notes)
            print(
                f"  {m.id}: {outcome.verdict} ({outcome.seconds:.0f} s){' – ' + detail if detail else ''}", flush=True
            )

        print()
        print(_table(results))
        bad = [(m, o) for m, o in results if o.verdict != "caught"]
        print(f"{len(results) - len(bad)} of {len(results)} mutations caught")
        for m, o in bad:
            print(f"  NOT CAUGHT {m.id} ({o.verdict}): {m.promise}. {' '.join(o.notes)}")
        return 1 if bad else 0
    finally:
        if args.keep:
            print(f"scratch copy kept: {tree}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
