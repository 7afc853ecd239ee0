"""File names carrying a NIK and a person's name are shown masked outside the protected tables (issue 13.12)."""

from __future__ import annotations

import secrets

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dtks import datadocs, feedback, ingest
from dtks.identifiers import mask_file_name
from tests.audit import scenario3
from tests.builders import SURABAYA, land

pytestmark = pytest.mark.postgres

NIK = "3578010101800021"
NAME = f"perbaikan NIK {NIK} BUDI SANTOSO.csv"
SHOWN = "perbaikan NIK ****************.csv"


@pytest.mark.parametrize(
    "name, shown",
    [
        (NAME, SHOWN),
        ("dtks_3578_2026-09.csv", "dtks_3578_2026-09.csv"),
        ("data revisi 2026-10 v2 (final).xlsx", "data revisi 2026-10 v2 final.xlsx"),  # separators collapsed
        ("Siti Ñúñez 357801010180002.csv", "****************.csv"),
        ("BUDI.xlsx", "berkas.xlsx"),
        ('=HYPERLINK("x";"klik").csv', "berkas.csv"),
        ("", "berkas"),
        ("KK_3578010201150001_ADI-PRATAMA_okt.csv", "KK_****************_okt.csv"),
    ],
)
def test_one_rule_in_python_and_sql(wh, name, shown):
    assert mask_file_name(name) == shown
    with wh.connect() as conn:
        assert conn.execute(sa.text("SELECT audit.mask_file_name(:n)"), {"n": name}).scalar() == shown


@pytest.fixture(scope="module")
def named_after_a_person(three_rounds):
    """A correction file named after the person (NIK and name), merged in round 2026-10."""
    eng, dirs = three_rounds["engine"], three_rounds["dirs"]
    path = land(
        dirs["landing"],
        "2026-10",
        SURABAYA,
        NAME,
        [scenario3.a1.but(tanggal_verifikasi="2026-10-07")],
        scenario3.RECEIVED["2026-10"],
    )
    (ref,) = ingest.process_landed(eng, dirs["landing"], "run-named", archive_dir=dirs["archive"]).registered
    assert ref.file_name == path.name
    return ref.submission_id


def _clean(text: str, where: str) -> None:
    for secret in (NIK, "BUDI", "SANTOSO"):
        assert secret not in text, f"{secret} in {where}"


def test_data_docs_index(three_rounds, named_after_a_person):
    site = datadocs.build_round_site(three_rounds["engine"], "2026-10")
    index = (site if site.name == "index.html" else site / "index.html").read_text(encoding="utf-8")
    assert SHOWN in index
    _clean(index, "data docs index")


def test_feedback_shown_to_the_district(three_rounds, named_after_a_person):
    paths = feedback.write_feedback(three_rounds["engine"], named_after_a_person)
    book = openpyxl.load_workbook(paths["xlsx"])
    names = [r[2] for r in book["Ringkasan"].iter_rows(values_only=True) if r and r[1] == "File name"]
    assert names == [SHOWN]
    for p in paths.values():
        with open(p, "rb") as fh:
            raw = fh.read()
        assert NIK.encode() not in raw and b"SANTOSO" not in raw


def test_auditor_pages_and_export(auditor_client, named_after_a_person):
    for url in (
        "/rounds/2026-10",
        f"/submissions/{named_after_a_person}",
        "/rounds/2026-10/submissions.csv",
        "/rounds/2026-10/audit-export.html",
    ):
        text = auditor_client.get(url).text
        assert SHOWN in text, url
        _clean(text, url)


def test_auditor_login_cannot_read_raw_names_or_paths(three_rounds, named_after_a_person):
    eng = three_rounds["engine"]
    user, password = f"dtks_audit_names_{secrets.token_hex(3)}", secrets.token_hex(12)
    with eng.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {user} LOGIN PASSWORD '{password}' IN ROLE dtks_auditor"))
    login = sa.create_engine(make_url(three_rounds["url"]).set(username=user, password=password))
    try:
        for sql in (
            "SELECT file_name FROM audit.submission",
            "SELECT landing_path FROM audit.submission",
            "SELECT archive_path FROM audit.submission",
            "SELECT manifest FROM audit.submission",
            "SELECT * FROM audit.submission",
            "SELECT detail FROM audit.submission_event",
            "SELECT file_name FROM audit.duplicate_upload",
            "SELECT landing_path FROM audit.duplicate_upload",
        ):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                with login.connect() as conn:
                    conn.execute(sa.text(sql)).all()
        with login.connect() as conn:
            names = set(conn.execute(sa.text("SELECT file_name FROM audit.submission_masked")).scalars())
            details = " ".join(
                str(d) for d in conn.execute(sa.text("SELECT detail FROM audit.submission_event_masked")).scalars()
            )
            lineage_names = set(conn.execute(sa.text("SELECT file_name FROM registry.record_lineage_masked")).scalars())
            assert conn.execute(sa.text("SELECT count(*) FROM audit.submission")).scalar() >= 1  # counts still work
        assert SHOWN in names and SHOWN in lineage_names
        assert '"archive_path": "perbaikan_NIK_****************.csv"' in details.replace("'", '"')
        _clean(" ".join(names | lineage_names) + details, "auditor views")
    finally:
        login.dispose()
        with eng.begin() as conn:
            conn.execute(sa.text(f"DROP ROLE {user}"))
