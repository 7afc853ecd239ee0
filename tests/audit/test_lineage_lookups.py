"""Masking that cannot be reversed by asking many questions (issue 13.7), and lineage of every attempt (issue 14.8).

The attack: an auditor knows a person's region, birth year, sex and the masked
NIK's visible digits, builds every candidate NIK, and asks the lineage lookup
about each until one answers. Tried here as the auditor page's own login
(deploy/warehouse_roles.py), on a real warehouse and through the real plugin.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sys
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dtks import audit, ingest, masking
from dtks.config import PROJECT_ROOT
from dtks.identifiers import build_nik, mask_file_name
from tests.audit import scenario3
from tests.builders import SURABAYA, SURABAYA_KEC, land, person

pytestmark = pytest.mark.postgres

LIMIT = 30  # registry.lineage_hourly_limit()


def _warehouse_roles():
    sys.path.insert(0, str(PROJECT_ROOT / "deploy"))
    try:
        import warehouse_roles
    finally:
        sys.path.pop(0)
    return warehouse_roles


@pytest.fixture
def login(three_rounds):
    """A fresh auditor-page login made by the deploy script (dtks_auditor + dtks_lineage, read-only default)."""
    user, password = f"dtks_auditor_web_{secrets.token_hex(3)}", secrets.token_hex(16)
    _warehouse_roles().ensure_auditor_login(three_rounds["engine"], user, password)
    url = make_url(three_rounds["url"]).set(username=user, password=password)
    eng = sa.create_engine(url)
    yield user, eng, url
    eng.dispose()
    with three_rounds["engine"].begin() as conn:
        conn.execute(sa.text(f'DROP OWNED BY "{user}"'))
        conn.execute(sa.text(f'DROP ROLE "{user}"'))


def _candidates() -> list[str]:
    """a2 is a woman born 1982 in Kec. Genteng: all her possible NIKs with the masked views' old hints (…01)."""
    real = scenario3.a2.nik
    out = []
    for month in (4, 5, 6):
        for day in (5, 6, 7):
            for serial in (1, 2, 101, 201):
                out.append(build_nik(SURABAYA_KEC, date(1982, month, day), True, serial))
    assert real in out and len(set(out)) == len(out) == 36
    return out


def _lookups(eng, user) -> list[dict]:
    with eng.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                sa.text(
                    "SELECT lookup_id, db_login, asked_by, identifier_hash FROM audit.lineage_lookup"
                    " WHERE db_login = :u ORDER BY lookup_id"
                ),
                {"u": user},
            ).mappings()
        ]


def test_auditor_cannot_test_candidates_without_a_record_each_and_hits_the_limit(three_rounds, login):
    user, eng, _ = login
    candidates = _candidates()
    real = scenario3.a2.nik

    # The old one-call oracle is gone.
    with pytest.raises(sa.exc.DBAPIError):
        with eng.connect() as conn:
            conn.execute(sa.text("SELECT * FROM registry.lineage_masked(:n)"), {"n": real}).all()

    # Asking without a committed request: refused, whether the request never was or was rolled back.
    for nik in [*candidates[:5], real]:
        with pytest.raises(sa.exc.DBAPIError, match="no committed lookup"):
            with eng.connect() as conn:
                conn.execute(sa.text("SELECT * FROM registry.lineage_masked(1, :n)"), {"n": nik}).all()
        with eng.connect() as conn:
            with pytest.raises(sa.exc.DBAPIError, match="no committed lookup"):
                with conn.begin():  # request and answer in one transaction, to roll the record back afterwards
                    conn.execute(sa.text("SET TRANSACTION READ WRITE"))
                    lid = conn.execute(sa.text("SELECT registry.lineage_request(:n)"), {"n": nik}).scalar()
                    conn.execute(sa.text("SELECT * FROM registry.lineage_masked(:l, :n)"), {"l": lid, "n": nik}).all()
    assert _lookups(eng, user) == []  # nothing answered, nothing left

    # The only way to an answer: a committed request per candidate, each recorded, until the limit.
    answered, refused = {}, []
    for nik in candidates:
        try:
            with eng.connect() as conn:
                with conn.begin():
                    conn.execute(sa.text("SET TRANSACTION READ WRITE"))
                    lid = conn.execute(sa.text("SELECT registry.lineage_request(:n)"), {"n": nik}).scalar()
                answered[nik] = conn.execute(
                    sa.text("SELECT count(*) FROM registry.lineage_masked(:l, :n)"), {"l": lid, "n": nik}
                ).scalar()
        except sa.exc.DBAPIError as exc:
            assert "limit is 30 per hour" in str(exc.orig)
            refused.append(nik)
    assert len(answered) == LIMIT and len(refused) == len(candidates) - LIMIT
    records = _lookups(eng, user)
    assert len(records) == LIMIT  # one record per answered try
    assert {r["db_login"] for r in records} == {user}
    hashes = [r["identifier_hash"] for r in records]
    assert len(set(hashes)) == LIMIT and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)
    for nik in answered:  # keyed: not the plain hash of the number
        assert hashlib.sha256(nik.encode()).hexdigest() not in hashes
        assert hashlib.sha256(f"dtks-lineage:{nik}".encode()).hexdigest() not in hashes

    # The key, the keyed hash and the unmasked lineage are out of the login's reach.
    for sql in (
        "SELECT * FROM lineage_secret.hash_key",
        "SELECT lineage_secret.keyed_hash('1')",
        f"SELECT * FROM registry.lineage_of('{real}')",
        f"SELECT * FROM registry.attempts_of('{real}')",
        "SELECT registry.lineage_checked(1, '1')",
    ):
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            with eng.connect() as conn:
                conn.execute(sa.text(sql)).all()
    # ... and the record cannot be removed.
    with pytest.raises(sa.exc.DBAPIError):
        with eng.connect() as conn:
            with conn.begin():
                conn.execute(sa.text("SET TRANSACTION READ WRITE"))
                conn.execute(sa.text("DELETE FROM audit.lineage_lookup"))
    assert len(_lookups(three_rounds["engine"], user)) == LIMIT


def test_lookups_are_allowed_only_to_the_lineage_role(three_rounds, login):
    _, _eng, url = login
    plain = f"dtks_auditor_only_{secrets.token_hex(3)}"
    with three_rounds["engine"].begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {plain} LOGIN PASSWORD 'pw-{plain}' IN ROLE dtks_auditor"))
    other = sa.create_engine(make_url(url).set(username=plain, password=f"pw-{plain}"))
    try:
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            with other.begin() as conn:
                conn.execute(sa.text("SELECT registry.lineage_request(:n)"), {"n": scenario3.a2.nik})
        # the auditor engine's default role (dtks_auditor) cannot either: the page switches to dtks_lineage
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            with audit.auditor_engine(make_url(url).render_as_string(hide_password=False)).connect() as conn:
                with conn.begin():
                    conn.execute(sa.text("SET TRANSACTION READ WRITE"))
                    conn.execute(sa.text("SELECT registry.lineage_request(:n)"), {"n": scenario3.a2.nik})
    finally:
        other.dispose()
        with three_rounds["engine"].begin() as conn:
            conn.execute(sa.text(f"DROP ROLE {plain}"))


def test_masked_views_do_not_give_away_the_niks_parts(three_rounds, login):
    _, eng, _ = login
    with eng.connect() as conn:
        for view in (
            "registry.individual_masked",
            "registry.individual_version_masked",
            "registry.record_lineage_masked",
            "quarantine.rejected_row_masked",
        ):
            rows = conn.execute(sa.text(f"SELECT * FROM {view}")).mappings().all()
            assert rows, view
            for r in rows:
                assert not {"birth_year", "jenis_kelamin", "tanggal_lahir"} & set(r), view
                for key in ("nik_masked", "no_kk_masked"):
                    if r.get(key):
                        assert re.fullmatch(r"[0-9]{4}\*{12}", r[key]), (view, r[key])


def test_the_page_records_each_lookup_and_stops_at_the_limit(three_rounds, login, plugin):
    from fastapi.testclient import TestClient

    user, _, url = login
    app = plugin.create_app(
        engine=audit.auditor_engine(make_url(url).render_as_string(hide_password=False)), require_login=False
    )
    statuses = []
    with TestClient(app, root_path="/dtks-auditor") as client:
        for nik in _candidates()[: LIMIT + 2]:
            r = client.post("/lineage", data={"identifier": nik})
            statuses.append(r.status_code)
            assert nik not in r.text
    assert statuses == [200] * LIMIT + [429, 429]
    records = _lookups(three_rounds["engine"], user)
    assert len(records) == LIMIT and {r["asked_by"] for r in records} == {"(no Airflow login)"}


def test_lineage_lists_quarantined_rows_and_files_rejected_whole(three_rounds, login, plugin, capsys):
    """a4 was quarantined for a blank name in 2026-08; here a file carrying a2 is rejected whole."""
    from fastapi.testclient import TestClient

    from dtks import cli

    eng, dirs = three_rounds["engine"], three_rounds["dirs"]
    stranger = person("317101", "3171011001", 9, 9, "ORANG LAIN", "L", date(1990, 1, 1), "1", "2026-10-06")
    wrong = [stranger.but(nik=scenario3.a2.nik)] + [
        stranger.but(nik=build_nik("317101", date(1990, 1, 1), False, s)) for s in range(10, 14)
    ]
    name = f"perbaikan NIK {scenario3.a2.nik} BUDI ASTUTI.csv"
    path = land(dirs["landing"], "2026-10", SURABAYA, name, wrong, scenario3.RECEIVED["2026-10"])
    (ref,) = ingest.process_landed(
        eng, dirs["landing"], "run-attempt", archive_dir=dirs["archive"], until="validate"
    ).registered
    assert ref.file_name == path.name
    with eng.connect() as conn:
        status, reason = conn.execute(
            sa.text("SELECT status, reject_reason FROM audit.submission WHERE submission_id = :s"),
            {"s": ref.submission_id},
        ).one()
    assert status == "rejected", (status, reason)

    # engineers: dtks lineage NIK
    assert cli.main(["lineage", scenario3.a2.nik]) == 0
    out = capsys.readouterr().out
    attempt_lines = [line for line in out.splitlines() if "file_rejected" in line]
    assert len(attempt_lines) == 1 and f"reasons: {reason}" in attempt_lines[0]
    assert f"#{ref.submission_id}" in attempt_lines[0] and f"{name}:1" in attempt_lines[0]
    assert cli.main(["lineage", scenario3.scenario.a4.nik]) == 0
    out = capsys.readouterr().out
    quarantined = [line for line in out.splitlines() if "row_quarantined" in line]
    assert len(quarantined) == 1 and "reasons: nama_blank" in quarantined[0]

    # auditors: the page, masked, through a recorded lookup
    _, _, url = login
    app = plugin.create_app(
        engine=audit.auditor_engine(make_url(url).render_as_string(hide_password=False)), require_login=False
    )
    with TestClient(app, root_path="/dtks-auditor") as client:
        page = client.post("/lineage", data={"identifier": scenario3.a2.nik}).text
        assert "berkas ditolak / file rejected whole" in page and reason in page
        assert mask_file_name(name) in page and "BUDI" not in page and scenario3.a2.nik not in page
        assert masking.mask_nik(scenario3.a2.nik) in page
        page = client.post("/lineage", data={"identifier": scenario3.scenario.a4.nik}).text
        assert "baris dikarantina / row quarantined" in page and "nama_blank" in page
        assert scenario3.scenario.a4.nik not in page
