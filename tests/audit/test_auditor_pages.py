"""The auditor page (FastAPI TestClient): every page and export, filters, masking, files, login, plugin wiring."""

import csv
import io
import re

import pytest

from dtks import masking
from dtks.validation import load_suite_spec
from tests.audit import scenario3
from tests.builders import JAKPUS, PACITAN, SURABAYA

pytestmark = pytest.mark.postgres
SUITE_VERSION = load_suite_spec().version

_SIXTEEN = re.compile(r"(?<![0-9A-Fa-f])[0-9]{16}(?![0-9A-Fa-f])")


def _assert_nothing_personal(text: str, where: str) -> None:
    for nik in scenario3.NIKS + scenario3.KKS:
        assert nik not in text, f"unmasked identifier {masking.mask_identifier(nik)} in {where}"
    assert not _SIXTEEN.search(text), f"a 16-digit number in {where}"
    for name in scenario3.NAMES:
        assert not re.search(rf"\b{re.escape(name)}\b", text), f"a name in {where}"


def _submission_ids(client, round_id):
    rows = list(csv.DictReader(io.StringIO(client.get(f"/rounds/{round_id}/submissions.csv").text)))
    return {(r["kabkota_code"], r["status"]): int(r["submission_id"]) for r in rows}


def _all_pages(client):
    """Every page the app serves for the scenario, as (url, response)."""
    urls = ["/", "/lineage", "/feedback/2026-09/"]
    for r in scenario3.ROUNDS:
        urls += [
            f"/rounds/{r}",
            f"/rounds/{r}?province=35",
            f"/rounds/{r}?district={SURABAYA}",
            f"/rounds/{r}/runs",
            f"/rounds/{r}/districts.csv",
            f"/rounds/{r}/submissions.csv",
            f"/rounds/{r}/runs.csv",
            f"/rounds/{r}/audit-export.html",
        ]
    for sid in range(1, 7):
        urls.append(f"/submissions/{sid}")
    urls += [
        "/files/2026-09/report.html",
        "/files/2026-09/data_docs/index.html",
        f"/feedback/2026-09/{SURABAYA}/feedback_3578.csv",
        f"/feedback/2026-09/{SURABAYA}/feedback_3578.xlsx",
    ]
    pages = [(u, client.get(u)) for u in urls]
    for ident in (scenario3.a2.nik, scenario3.a1.no_kk):
        pages.append(
            (f"POST /lineage {masking.mask_identifier(ident)}", client.post("/lineage", data={"identifier": ident}))
        )
    return pages


def test_every_page_renders_and_nothing_unmasked(auditor_client):
    pages = _all_pages(auditor_client)
    for url, resp in pages:
        assert resp.status_code == 200, url
        _assert_nothing_personal(resp.text, url)
        if resp.headers["content-type"].startswith("text/html") and not url.startswith("/files/"):
            assert "<title>DTKS Pemutakhiran" in resp.text, url
            assert "http://" not in resp.text.replace('xmlns="http://www.w3.org/2000/svg"', "")
            assert "https://" not in resp.text and "<script" not in resp.text, url


def test_rounds_list(auditor_client):
    html = auditor_client.get("/").text
    for r in scenario3.ROUNDS:
        assert f'href="/dtks-auditor/rounds/{r}"' in html
    assert 'href="/dtks-auditor/static/auditor.css"' in html
    assert "baseline.csv" in html  # the baseline load is listed with submissions outside rounds
    from fastapi.testclient import TestClient

    static = TestClient(auditor_client.app).get("/static/auditor.css")
    assert static.status_code == 200 and "http" not in static.text and "url(" not in static.text


def test_round_page_districts_chart_submissions_and_links(auditor_client):
    html = auditor_client.get("/rounds/2026-09").text
    assert '<svg role="img" class="chart" id="district-chart"' in html
    for code in (SURABAYA, PACITAN, JAKPUS):
        assert f"<td>{code}</td>" in html
    assert "Kota Surabaya" in html and "Kabupaten Pacitan" in html
    assert "dtks_3578_2026-09.csv" in html and "dtks_3501_2026-09.csv" in html
    assert "file_empty" in html and 'class="badge st-rejected"' in html
    assert 'href="/dtks-auditor/files/2026-09/report.html"' in html
    assert 'href="/dtks-auditor/files/2026-09/data_docs/index.html"' in html
    assert 'href="/dtks-auditor/feedback/2026-09/"' in html
    assert "/feedback/2026-09/" in html
    # a round without those files says so
    assert "no report yet" in auditor_client.get("/rounds/2026-08").text


def test_filters_by_province_and_district(auditor_client):
    jakarta = auditor_client.get("/rounds/2026-09?province=31").text
    assert f"<td>{JAKPUS}</td>" in jakarta and f"<td>{SURABAYA}</td>" not in jakarta
    assert "dtks_3578_2026-09.csv" not in jakarta
    one = auditor_client.get(f"/rounds/2026-09?district={PACITAN}").text
    assert f"<td>{PACITAN}</td>" in one and f"<td>{SURABAYA}</td>" not in one
    assert "dtks_3501_2026-09.csv" in one and "dtks_3578_2026-09.csv" not in one
    rows = list(csv.DictReader(io.StringIO(auditor_client.get("/rounds/2026-09/districts.csv?province=35").text)))
    assert sorted(r["kabkota_code"] for r in rows) == [PACITAN, SURABAYA]
    # nonsense filters are ignored, not passed to SQL
    assert auditor_client.get("/rounds/2026-09?province=x'--&district=../").status_code == 200


def test_csv_exports(auditor_client):
    districts = list(csv.DictReader(io.StringIO(auditor_client.get("/rounds/2026-08/districts.csv").text)))
    by_code = {r["kabkota_code"]: r for r in districts}
    assert set(by_code) == {SURABAYA, PACITAN, JAKPUS}
    assert by_code[SURABAYA]["accepted"] == "True" and by_code[JAKPUS]["accepted"] == "False"
    resp = auditor_client.get("/rounds/2026-09/submissions.csv")
    assert resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    subs = list(csv.DictReader(io.StringIO(resp.text)))
    assert {(s["kabkota_code"], s["status"], s["reject_reason"]) for s in subs} == {
        (SURABAYA, "merged", ""),
        (PACITAN, "rejected", "file_empty"),
    }
    assert all(len(s["sha256"]) == 64 for s in subs)
    runs = list(csv.DictReader(io.StringIO(auditor_client.get("/rounds/2026-09/runs.csv").text)))
    assert {r["task_id"] for r in runs} >= {
        "register_landed_files",
        "stage_submission",
        "validate_submissions",
        "merge_submission",
        "compute_metrics",
    }


def test_submission_page_lifecycle_checks_and_masked_issues(auditor_client):
    ids = _submission_ids(auditor_client, "2026-08")
    html = auditor_client.get(f"/submissions/{ids[(SURABAYA, 'merged')]}").text
    steps = re.findall(r'<li data-event="([a-z]+)">', html)
    assert steps == ["received", "archived", "staged", "validated", "merged"]  # the lifecycle, in order
    assert f"dtks_submission_rows@{SUITE_VERSION}" in html and "nama_blank" in html
    assert "gagal / fail" in html and "lulus / pass" in html
    assert masking.mask_nik(scenario3.scenario.a4.nik) in html  # the quarantined row, masked
    assert "ingest-2026-08" in html and "merge_submission" in html
    assert auditor_client.get("/submissions/999999").status_code == 404


def test_task_runs_record_rows_in_and_out(auditor_client):
    runs = list(csv.DictReader(io.StringIO(auditor_client.get("/rounds/2026-08/runs.csv").text)))
    stage = {r["map_index"]: r for r in runs if r["task_id"] == "stage_submission"}
    assert sorted((r["rows_in"], r["rows_out"]) for r in stage.values()) == [("2", "2"), ("5", "5")]
    merge = sorted(r["rows_out"] for r in runs if r["task_id"] == "merge_submission")
    assert merge == ["2", "4"]
    validate = next(r for r in runs if r["task_id"] == "validate_submissions")
    assert (validate["rows_in"], validate["rows_out"]) == ("7", "6")
    assert all(r["round_id"] == "2026-08" for r in runs if r["task_id"] in ("stage_submission", "merge_submission"))
    html = auditor_client.get("/rounds/2026-08/runs").text
    assert "compute_metrics" in html and "dtks_close_round" in html


def test_audit_export_download(auditor_client):
    resp = auditor_client.get("/rounds/2026-09/audit-export.html")
    assert resp.status_code == 200 and "attachment" in resp.headers["content-disposition"]
    assert "audit export of round 2026-09" in resp.text


def test_lineage_page(auditor_client):
    assert 'name="identifier"' in auditor_client.get("/lineage").text
    html = auditor_client.post("/lineage", data={"identifier": scenario3.a2.nik}).text
    assert html.count("<td>inserted</td>") == 1 and html.count("<td>changed</td>") == 2
    assert html.count("<td>confirmed</td>") == 1
    assert masking.mask_nik(scenario3.a2.nik) in html and "B. A." in html
    assert "bpnt" in html and "dtks_3578_2026-10.csv : 2" in html
    assert auditor_client.post("/lineage", data={"identifier": "12"}).status_code == 422
    assert "not found" in auditor_client.post("/lineage", data={"identifier": "3578999999999999"}).text


def test_files_are_served_read_only_and_masked(auditor_client):
    report = auditor_client.get("/files/2026-09/report.html")
    assert report.status_code == 200 and "Laporan 2026-09" in report.text
    docs = auditor_client.get("/files/2026-09/data_docs/index.html").text
    assert masking.mask_identifier(scenario3.a2.nik) in docs
    listing = auditor_client.get("/feedback/2026-09/").text
    assert "feedback_3578.csv" in listing and "notes.txt" in listing and "not shown" in listing
    fb = list(csv.reader(io.StringIO(auditor_client.get(f"/feedback/2026-09/{SURABAYA}/feedback_3578.csv").text)))
    assert fb[1][1] == masking.mask_nik(scenario3.scenario.a4.nik) and fb[1][2] == "D." and fb[1][4] == "D. L."
    xlsx = auditor_client.get(f"/feedback/2026-09/{SURABAYA}/feedback_3578.xlsx").text
    assert "B. A." in xlsx and "9999-99-99" in xlsx
    for bad in (
        "/files/2026-09/../../etc/passwd",
        "/files/2026-09/%2e%2e/%2e%2e/etc/passwd",
        "/files/x/report.html",
        f"/feedback/2026-09/{SURABAYA}/notes.txt",
        f"/feedback/2026-09/{SURABAYA}/..%2f..%2fsecret.csv",
        "/files/2026-08/report.html",
    ):
        assert auditor_client.get(bad).status_code == 404, bad
    for method in ("post", "put", "delete"):
        assert getattr(auditor_client, method)("/rounds/2026-09").status_code == 405


def test_unknown_round_is_404(auditor_client):
    resp = auditor_client.get("/rounds/2031-01")
    assert resp.status_code == 404 and "round not found" in resp.text
    assert auditor_client.get("/rounds/not-a-round").status_code == 404


def test_login_required_inside_airflow(plugin, airflow_ready):
    """Inside Airflow: no token -> 401, a bad token -> 403, any UI user (e.g. the viewer role) -> the page."""
    from airflow.api_fastapi import app as airflow_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    client = TestClient(plugin.create_app(engine=object(), require_login=True))
    assert client.get("/").status_code == 401
    assert client.get("/rounds/2026-09/districts.csv").status_code == 401
    previous = airflow_app._AuthManagerState.instance
    try:
        manager = airflow_app.init_auth_manager()
        assert client.get("/lineage", headers={"Authorization": "Bearer not-a-token"}).status_code == 403
        viewer = manager.generate_jwt(SimpleAuthManagerUser(username="auditor_bpk", role="viewer"))
        client.cookies.set("_token", viewer)
        page = client.get("/lineage")  # the only page that needs no database
        assert page.status_code == 200 and "DTKS Pemutakhiran" in page.text
        nobody = manager.generate_jwt(SimpleAuthManagerUser(username="nobody", role=None))
        client.cookies.set("_token", nobody)
        assert client.get("/lineage").status_code == 403
    finally:
        airflow_app._AuthManagerState.instance = previous


def test_airflow_loads_the_plugin(plugin):
    from airflow._shared.plugins_manager.plugins_manager import _load_plugins_from_plugin_directory

    from dtks.config import PROJECT_ROOT

    plugins, errors = _load_plugins_from_plugin_directory(str(PROJECT_ROOT / "plugins"))
    assert errors == {}
    ours = next(p for p in plugins if p.name == "dtks_auditor")
    assert ours.fastapi_apps[0]["url_prefix"] == "/dtks-auditor"
    view = ours.external_views[0]
    assert view["name"] == "DTKS Pemutakhiran" and view["destination"] == "nav"
    assert not view["href"].startswith("/") and view["href"].startswith("dtks-auditor")
