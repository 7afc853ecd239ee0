"""The synthetic data generator: determinism, valid baseline, honest answer key."""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import os
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from dtks.devtools.defects import DEFECT_REASONS, FILE_DEFECTS, ROW_DEFECTS
from dtks.devtools.generate import DEMO_PROVINCES, DEMO_ROUNDS, generate
from dtks.identifiers import looks_excel_corrupted, nik_birth_part, nik_problems
from dtks.parsing import open_submission
from dtks.reasons import SubmissionRejected
from dtks.rounds import default_round
from dtks.schema import CANONICAL_COLUMNS

REFERENCE = Path(__file__).resolve().parents[2] / "include" / "reference" / "idn-area-data-4.0.1"
SMALL = dict(households_per_district=8)


def _undot(code: str) -> str:
    return code.replace(".", "")


@pytest.fixture(scope="module")
def reference():
    with open(REFERENCE / "regencies.csv", newline="", encoding="utf-8") as handle:
        regencies = [(_undot(r["code"]), r["province_code"]) for r in csv.DictReader(handle)]
    with open(REFERENCE / "districts.csv", newline="", encoding="utf-8") as handle:
        kecamatan = {_undot(r["code"]) for r in csv.DictReader(handle)}
    with open(REFERENCE / "villages.csv", newline="", encoding="utf-8") as handle:
        villages = {_undot(r["code"]) for r in csv.DictReader(handle)}
    return {
        "all_kabkota": {code for code, _ in regencies},
        "demo_kabkota": {code for code, province in regencies if province in DEMO_PROVINCES},
        "kecamatan": kecamatan,
        "villages": villages,
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    summary = generate(out, seed=7, **SMALL)
    return out, summary


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _submissions(out: Path):
    """(round_id, kabkota, data path, manifest dict) for every landing file."""
    found = []
    for manifest_path in sorted((out / "landing").rglob("*.manifest.json")):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        found.append(
            (
                manifest["round_id"],
                manifest["kabkota_code"],
                manifest_path.parent / manifest["file"],
                manifest,
                manifest_path,
            )
        )
    return found


def _expected(out: Path) -> dict[tuple[str, str, str], dict[int, str]]:
    by_file: dict[tuple[str, str, str], dict[int, str]] = defaultdict(dict)
    for row in _read_csv(out / "expected_defects.csv"):
        key = (row["round_id"], row["kabkota_code"], row["file"])
        number = int(row["file_row"])
        assert number not in by_file[key], f"two defects recorded for one row: {row}"
        by_file[key][number] = row["reason_code"]
    return by_file


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes_other_seed_differs(generated, tmp_path):
    out, _ = generated
    again = tmp_path / "again"
    generate(again, seed=7, **SMALL)
    assert _tree_hash(out) == _tree_hash(again)
    # Re-running into the same folder overwrites to the same bytes.
    generate(again, seed=7, **SMALL)
    assert _tree_hash(out) == _tree_hash(again)
    other = tmp_path / "other"
    generate(other, seed=8, **SMALL)
    assert _tree_hash(out) != _tree_hash(other)


def test_summary_and_calendar(generated):
    out, summary = generated
    assert summary.districts == 100
    assert summary.baseline_rows == len(_read_csv(out / "baseline" / "registry.csv"))
    assert summary.defect_rows == len(_read_csv(out / "expected_defects.csv"))
    assert summary.submissions == len(_submissions(out))
    rounds = json.loads((out / "rounds.json").read_text())
    assert [r["round_id"] for r in rounds] == list(DEMO_ROUNDS)
    assert rounds[0] == {"round_id": "2026-08", "opens_on": "2026-08-01", "cutoff_on": "2026-08-14", "grace_days": 3}
    cal = default_round("2026-09")
    assert (cal.opens_on, cal.cutoff_on, cal.grace_days) == (date(2026, 9, 1), date(2026, 9, 14), 3)


# --------------------------------------------------------------------------- baseline


@pytest.fixture(scope="module")
def baseline(generated):
    out, _ = generated
    with open(out / "baseline" / "registry.csv", newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == CANONICAL_COLUMNS
        return list(reader)


def test_baseline_has_exactly_the_100_demo_districts(baseline, reference):
    districts = {row["kode_desa"][:4] for row in baseline}
    assert len(districts) == 100
    assert districts == reference["demo_kabkota"]


def test_baseline_niks_valid_unique_and_match_birth(baseline, reference):
    niks = [row["nik"] for row in baseline]
    assert len(niks) == len(set(niks))
    ids = [row["id_dtks"] for row in baseline]
    assert len(ids) == len(set(ids))
    migrants = 0
    for row in baseline:
        nik = row["nik"]
        assert nik_problems(nik, reference["all_kabkota"]) == [], row
        assert nik[:6] in reference["kecamatan"]
        born = date.fromisoformat(row["tanggal_lahir"])
        assert nik[6:12] == nik_birth_part(born, row["jenis_kelamin"] == "P"), row
        assert row["jenis_kelamin"] in ("L", "P")
        migrants += nik[:6] != row["kode_desa"][:6]
    assert 0.05 < migrants / len(baseline) < 0.2


def test_baseline_households(baseline):
    by_kk = defaultdict(list)
    for row in baseline:
        by_kk[row["no_kk"]].append(row)
    sizes = Counter()
    for kk, members in by_kk.items():
        assert len(kk) == 16 and kk.isdigit()
        assert kk[:6] == members[0]["kode_desa"][:6]
        assert 1 <= len(members) <= 7
        sizes[len(members)] += 1
        assert [m["hubungan_keluarga"] for m in members].count("1") == 1, kk
        for field in ("alamat", "rt", "rw", "kode_desa", "tanggal_verifikasi"):
            assert len({m[field] for m in members}) == 1, (kk, field)
    assert set(sizes) == set(range(1, 8))
    relations = Counter(row["hubungan_keluarga"] for row in baseline)
    assert relations["2"] > 0 and relations["3"] > 0 and relations["6"] > 0


def test_baseline_villages_real_and_in_district(baseline, reference):
    for row in baseline:
        assert row["kode_desa"] in reference["villages"], row
        assert row["id_dtks"][2:6] == row["kode_desa"][:4]


def test_baseline_values_and_dates(baseline):
    last = date(2026, 7, 31)
    for row in baseline:
        born = date.fromisoformat(row["tanggal_lahir"])
        visited = date.fromisoformat(row["tanggal_verifikasi"])
        assert born <= visited <= last
        assert row["nama"] and row["nama_ibu_kandung"] and row["tempat_lahir"]
        assert row["status_keberadaan"] == "1"
        assert {row["pkh"], row["bpnt"], row["pbi"]} <= {"0", "1"}
        assert len(row["rt"]) == 3 and len(row["rw"]) == 3


def test_baseline_update_behaviour_differs_between_districts(baseline):
    recent_from = date(2024, 8, 1)
    households = defaultdict(dict)
    for row in baseline:
        households[row["kode_desa"][:4]][row["no_kk"]] = date.fromisoformat(row["tanggal_verifikasi"])
    stale = partial = active = 0
    for visits in households.values():
        if all(v.year <= 2017 for v in visits.values()):
            stale += 1
            continue
        share = sum(v >= recent_from for v in visits.values()) / len(visits)
        if share > 0.5:
            active += 1
        else:
            partial += 1
    assert 12 <= stale <= 24
    assert active >= 15 and partial >= 45


# --------------------------------------------------------------------------- landing


def test_landing_layout_mtimes_and_timeliness(generated):
    out, _ = generated
    subs = _submissions(out)
    assert subs
    late = 0
    for round_id, kabkota, data_path, manifest, manifest_path in subs:
        assert data_path.exists()
        assert data_path.parent == out / "landing" / round_id / kabkota
        assert data_path.name in {
            f"dtks_{kabkota}_{round_id}{v}{ext}" for v in ("", "_v2") for ext in (".csv", ".xlsx")
        }
        assert manifest_path.name == data_path.stem + ".manifest.json"
        assert set(manifest) == {
            "round_id",
            "kabkota_code",
            "file",
            "musdes_ref",
            "pengesahan_no",
            "pengesahan_date",
            "submitted_at",
        }
        submitted = datetime.fromisoformat(manifest["submitted_at"])
        assert manifest["submitted_at"].endswith("+07:00")
        assert os.stat(data_path).st_mtime == submitted.timestamp()
        assert os.stat(manifest_path).st_mtime == submitted.timestamp()
        assert date.fromisoformat(manifest["pengesahan_date"]) <= submitted.date()
        cal = default_round(round_id)
        if not data_path.stem.endswith("_v2"):
            assert cal.opens_on <= submitted.date() <= cal.cutoff_on + timedelta(days=cal.grace_days)
            late += submitted.date() > cal.cutoff_on
    assert late > 0


def test_some_districts_never_submit_and_some_skip(generated, baseline):
    out, _ = generated
    districts = {row["kode_desa"][:4] for row in baseline}
    per_round = {r: {p.name for p in (out / "landing" / r).iterdir()} for r in DEMO_ROUNDS}
    ever = set().union(*per_round.values())
    never = districts - ever
    assert 3 <= len(never) <= 15
    for submitted in per_round.values():
        assert len(submitted) < len(districts) - len(never)


def _iso(value: str) -> str:
    """A date as the generator's formats write it (ISO, DD-MM-YYYY, DD/MM/YYYY, Excel serial) -> ISO."""
    if re.fullmatch(r"[0-9]{5}", value):
        return (date(1899, 12, 30) + timedelta(days=int(value))).isoformat()
    m = re.fullmatch(r"([0-9]{2})[-/]([0-9]{2})[-/]([0-9]{4})", value)
    return f"{m[3]}-{m[2]}-{m[1]}" if m else value


def _file_rows(path: Path) -> tuple[list[str], list[dict]] | None:
    """(canonical columns in file order, rows with ISO dates and L/P), read by the real parser.

    None when the parser refuses the file as unreadable or empty; for a file
    missing columns, the columns its header does have and no rows.
    """
    if not path.read_bytes():
        return None
    try:
        parsed = open_submission(path)
    except SubmissionRejected as why:
        if why.code != "file_missing_columns":
            return None
        with path.open(newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle)), []
    header = sorted((c for c in parsed.positions if c in CANONICAL_COLUMNS), key=parsed.positions.get)
    rows = []
    for _, values in parsed.rows():
        row = dict(zip(CANONICAL_COLUMNS, values))
        row["tanggal_lahir"], row["tanggal_verifikasi"] = _iso(row["tanggal_lahir"]), _iso(row["tanggal_verifikasi"])
        row["jenis_kelamin"] = {"1": "L", "2": "P"}.get(row["jenis_kelamin"], row["jenis_kelamin"])
        rows.append(row)
    return header, rows


def test_expected_defects_are_really_in_the_files(generated, reference):
    out, _ = generated
    expected = _expected(out)
    reasons = Counter(reason for rows in expected.values() for reason in rows.values())
    assert set(reasons) <= set(DEFECT_REASONS)
    assert set(reasons) == set(DEFECT_REASONS), "every defect kind appears at least once"
    baseline_owner = {row["nik"]: row["kode_desa"][:4] for row in _read_csv(out / "baseline" / "registry.csv")}
    submissions = {(r, k, p.name): (p, m) for r, k, p, m, _ in _submissions(out)}
    for key, rows in expected.items():
        _round_id, kabkota, _name = key
        path, manifest = submissions[key]
        if 0 in rows:
            assert len(rows) == 1
            kind = rows[0]
            assert kind in FILE_DEFECTS
            parsed = _file_rows(path)
            if kind == "file_empty":
                assert path.stat().st_size == 0
            elif kind == "file_unreadable":
                assert parsed is None and path.stat().st_size > 0
            else:
                header, _ = parsed
                assert "nik" not in header and "nama" in header
            continue
        header, data = _file_rows(path)
        assert tuple(header) == CANONICAL_COLUMNS
        nik_counts = Counter(r["nik"] for r in data)
        submitted = datetime.fromisoformat(manifest["submitted_at"]).date()
        for number, reason in rows.items():
            assert reason in ROW_DEFECTS
            row = data[number - 1]
            nik = row["nik"]
            if reason == "nik_excel_corrupted":
                assert looks_excel_corrupted(nik) and nik_problems(nik) == ["nik_excel_corrupted"]
            elif reason == "nik_not_16_digits":
                assert nik_problems(nik) == ["nik_not_16_digits"] and len(nik) in (15, 17)
            elif reason == "nik_birth_mismatch":
                assert nik_problems(nik) == []
                born = date.fromisoformat(row["tanggal_lahir"])
                assert born < submitted
                assert nik[6:12] != nik_birth_part(born, row["jenis_kelamin"] == "P")
            elif reason == "nik_duplicate_in_file":
                assert nik_counts[nik] >= 2
                twins = [i + 1 for i, r in enumerate(data) if r["nik"] == nik]
                assert all(rows.get(i) == "nik_duplicate_in_file" for i in twins)
            elif reason == "nama_blank":
                assert row["nama"] == ""
            elif reason == "village_unknown":
                assert row["kode_desa"] not in reference["villages"]
                assert row["kode_desa"][:6] in reference["kecamatan"]
                assert row["kode_desa"][:4] == kabkota
            elif reason == "village_other_district":
                assert row["kode_desa"] in reference["villages"]
                assert row["kode_desa"][:4] != kabkota
            elif reason == "verification_date_future":
                assert date.fromisoformat(row["tanggal_verifikasi"]) > submitted
            elif reason == "kk_head_count":
                kk_rows = [i + 1 for i, r in enumerate(data) if r["no_kk"] == row["no_kk"]]
                assert [data[i - 1]["hubungan_keluarga"] for i in kk_rows].count("1") >= 2
                assert all(rows.get(i) == "kk_head_count" for i in kk_rows if data[i - 1]["hubungan_keluarga"] != "8")
            elif reason == "nik_active_in_other_district":
                assert nik_problems(nik) == [] and nik_counts[nik] == 1
                born = date.fromisoformat(row["tanggal_lahir"])
                assert nik[6:12] == nik_birth_part(born, row["jenis_kelamin"] == "P")
                owner = baseline_owner.get(nik)
                if owner is not None:
                    assert owner != kabkota


def test_rows_not_listed_as_defects_are_clean(generated, reference):
    out, _ = generated
    expected = _expected(out)
    checked = 0
    for round_id, kabkota, path, manifest, _ in _submissions(out):
        rows = expected.get((round_id, kabkota, path.name), {})
        if 0 in rows:
            continue
        header, data = _file_rows(path)
        assert tuple(header) == CANONICAL_COLUMNS
        submitted = datetime.fromisoformat(manifest["submitted_at"]).date()
        heads = defaultdict(int)
        head_defect_kks = {data[i - 1]["no_kk"] for i, r in rows.items() if r == "kk_head_count"}
        clean_niks = Counter()
        for number, row in enumerate(data, start=1):
            heads[row["no_kk"]] += row["hubungan_keluarga"] == "1"
            if number in rows:
                continue
            checked += 1
            nik = row["nik"]
            clean_niks[nik] += 1
            assert nik_problems(nik, reference["all_kabkota"]) == [], row
            born = date.fromisoformat(row["tanggal_lahir"])
            visited = date.fromisoformat(row["tanggal_verifikasi"])
            assert nik[6:12] == nik_birth_part(born, row["jenis_kelamin"] == "P"), row
            assert born <= visited < submitted
            assert row["kode_desa"] in reference["villages"] and row["kode_desa"][:4] == kabkota
            assert row["nama"] and row["status_keberadaan"] in {"1", "2", "3", "4"}
            assert len(row["no_kk"]) == 16 and row["no_kk"].isdigit()
        assert max(clean_niks.values(), default=1) == 1
        for kk, count in heads.items():
            if kk not in head_defect_kks:
                assert count == 1, (path, kk)
        # Members of a household are adjacent.
        order = [row["no_kk"] for row in data]
        runs = [kk for i, kk in enumerate(order) if i == 0 or order[i - 1] != kk]
        assert len(runs) == len(set(runs))
    assert checked > 1000


def test_updates_carry_state_across_rounds(generated):
    """A death accepted in one round never comes back as a found person later."""
    out, _ = generated
    expected = _expected(out)
    subs = _submissions(out)
    departed: dict[str, str] = {}  # nik -> round of the accepted death/move
    statuses = Counter()
    for round_id in DEMO_ROUNDS:
        for r, kabkota, path, _, _ in subs:
            if r != round_id:
                continue
            rows = expected.get((r, kabkota, path.name), {})
            if 0 in rows:
                continue
            _, data = _file_rows(path)
            for number, row in enumerate(data, start=1):
                if number in rows:
                    continue
                statuses[row["status_keberadaan"]] += 1
                if row["status_keberadaan"] == "1":
                    assert row["nik"] not in departed or departed[row["nik"]] == round_id, row
        for r, kabkota, path, _, _ in subs:
            rows = expected.get((r, kabkota, path.name), {})
            if r != round_id or 0 in rows:
                continue
            _, data = _file_rows(path)
            for number, row in enumerate(data, start=1):
                if number not in rows and row["status_keberadaan"] in ("2", "3"):
                    departed[row["nik"]] = round_id
    assert statuses["1"] > statuses["3"] > 0 and statuses["2"] > 0


def test_default_size_is_demo_scale(tmp_path):
    summary = generate(tmp_path / "demo")
    assert summary.districts == 100
    assert 18_000 <= summary.baseline_rows <= 30_000
    # at demo scale too, every family card in a file has exactly one head, unless that is the injected defect
    expected = _expected(tmp_path / "demo")
    for round_id, kabkota, path, _, _ in _submissions(tmp_path / "demo"):
        rows = expected.get((round_id, kabkota, path.name), {})
        if 0 in rows:
            continue
        _, data = _file_rows(path)
        heads = Counter()
        for row in data:
            heads[row["no_kk"]] += row["hubungan_keluarga"] == "1"
        flagged = {data[n - 1]["no_kk"] for n, reason in rows.items() if reason == "kk_head_count"}
        assert all(n == 1 for kk, n in heads.items() if kk not in flagged), path
    names = [p.stem for p in (tmp_path / "demo" / "landing").rglob("dtks_*") if not p.name.endswith(".json")]
    assert any(name.endswith("_v2") for name in names)
    expected = _read_csv(tmp_path / "demo" / "expected_defects.csv")
    assert {row["reason_code"] for row in expected} == set(DEFECT_REASONS)


def test_districts_export_in_several_formats(generated):
    """Some districts send semicolon CSV with a BOM, pipe CSV in Windows-1252, XLSX with a title row."""
    out, _ = generated
    seen: dict[str, set[str]] = defaultdict(set)
    expected = _expected(out)
    for round_id, kabkota, path, _, _ in _submissions(out):
        if 0 in expected.get((round_id, kabkota, path.name), {}):
            continue  # the broken files are CSV whatever the district's tool
        data = path.read_bytes()
        if data.startswith(b"PK"):
            kind = "xlsx_title"
            parsed = open_submission(path)
            first = next(parsed.records())
            assert parsed.format == "xlsx" and first[1] == 4  # title row, blank row, header, data
        elif data.startswith(codecs.BOM_UTF8):
            kind = "csv_semicolon"
            assert data.split(b"\r\n")[0].count(b";") == len(CANONICAL_COLUMNS) - 1
        elif data.startswith(b'"ID DTKS"|'):
            kind = "csv_pipe_cp1252"
        else:
            kind = "csv"
            assert data.startswith(",".join(CANONICAL_COLUMNS).encode())
        seen[kabkota].add(kind)
    kinds = Counter(next(iter(k)) for k in seen.values())
    assert all(len(k) == 1 for k in seen.values()), "a district keeps its export format across rounds"
    assert set(kinds) == {"csv", "csv_semicolon", "csv_pipe_cp1252", "xlsx_title"}
    assert kinds["csv"] > max(kinds["csv_semicolon"], kinds["csv_pipe_cp1252"], kinds["xlsx_title"])
