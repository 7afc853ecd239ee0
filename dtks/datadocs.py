"""A Great Expectations Data Docs site per round, that an auditor can open offline.

``$DTKS_OUT_DIR/<round>/data_docs/index.html`` lists every district
submission of the round (file, hash, arrival, outcome, counts, suite
versions, the failed rules of both suites) and links, per submission, to
its GX-rendered validation page (the row suite; for a file refused by the
critical suite, that suite) and to the rendered suites themselves — the
rules exactly as they ran, from ``audit.suite_definition``.

The validation pages are rendered by GX's own site builder from the
per-submission, per-rule results recorded in ``audit.validation_result``
(element and failing-row counts). They carry no row values: failing values
(NIKs, names) stay in the quarantine tables, out of reach of the auditor
role. The site is rebuilt from the warehouse, so it can be recreated at any
time; pages of finished submissions are written once.

GX's templates load Bootstrap and jQuery from public CDNs; ministry networks
are offline, so every page is post-processed: external scripts, stylesheets
and images are removed and a local stylesheet is linked instead (the pages'
content is static HTML and stays complete without them).
"""

from __future__ import annotations

import html
import logging
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.config import settings
from dtks.validation import FILE_SUITE_FILE, ROW_SUITE_FILE, SuiteSpec, build_gx_suite, load_suite_spec, \
    stored_suite_spec

log = logging.getLogger(__name__)

SITE_FOLDER = "data_docs"
ROW_SUITE_NAME = "dtks_submission_rows"
_EXTERNAL_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.IGNORECASE | re.DOTALL)
_EXTERNAL_LINK = re.compile(r"<link\b[^>]*href=[\"']https?://[^>]*>", re.IGNORECASE)
_EXTERNAL_IMG = re.compile(r"<img\b[^>]*src=[\"']https?://[^>]*>", re.IGNORECASE)
_EXTERNAL_HREF = re.compile(r"href=([\"'])https?://[^\"']*\1", re.IGNORECASE)
_OFFLINE_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem;color:#1d2733;line-height:1.4}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #c9d3dd;padding:.25rem .5rem;
text-align:left;vertical-align:top}th{background:#e8eef4}.text-danger,.fail{color:#b3261e}.text-success,.ok{color:#1e7a34}
nav,.navbar,.ge-newsletter,.modal,.sticky,.d-none{display:none!important}a{color:#0b5cad}
h1{font-size:1.5rem}h2{font-size:1.2rem}.muted{color:#5b6b7a}code{background:#f2f4f7;padding:0 .2rem}
"""


def site_dir(round_id: str, out_dir: Path | None = None) -> Path:
    return Path(out_dir or settings().out_dir) / round_id / SITE_FOLDER


def _gx_name(spec_name: str, version: str) -> str:
    # GX turns dots of a suite name into folders: 1.1.0 -> 1_1_0
    return f"{spec_name}_v{re.sub(r'[^A-Za-z0-9_-]', '_', version)}"


def _specs(conn: sa.Connection, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], SuiteSpec]:
    current = {s.name: s for s in (load_suite_spec(ROW_SUITE_FILE), load_suite_spec(FILE_SUITE_FILE))}
    found = {}
    for name, version in pairs:
        spec = stored_suite_spec(conn, name, version)
        if spec is None and name in current and current[name].version == version:
            spec = current[name]
        if spec is not None:
            found[(name, version)] = spec
    return found


def _round_rows(conn: sa.Connection, round_id: str) -> tuple[list[dict], list[dict]]:
    subs = [dict(r) for r in conn.execute(sa.text(
        "SELECT s.submission_id, s.kabkota_code, k.name AS kabkota_name, s.file_name, s.sha256, s.size_bytes,"
        " s.received_at, s.status, s.reject_reason, s.rows_in, s.rows_accepted, s.rows_quarantined, s.rows_warned"
        " FROM audit.submission s LEFT JOIN ref.kabkota k ON k.code = s.kabkota_code"
        " WHERE s.kind = 'district' AND s.round_id = :r ORDER BY s.kabkota_code NULLS LAST, s.received_at,"
        " s.submission_id"), {"r": round_id}).mappings()]
    results = [dict(r) for r in conn.execute(sa.text(
        "SELECT v.submission_id, v.suite_name, v.suite_version, v.reason_code, v.severity, v.expectation_type,"
        " v.element_count, v.unexpected_count, v.success, v.run_id, v.validated_at"
        " FROM audit.validation_result v JOIN audit.submission s USING (submission_id)"
        " WHERE s.kind = 'district' AND s.round_id = :r ORDER BY v.submission_id, v.suite_name, v.reason_code"),
        {"r": round_id}).mappings()]
    return subs, results


def _page_path(suite: str, sub: dict, received: datetime) -> str:
    run_time = received.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"validations/{suite}/submission-{sub['submission_id']}/{run_time}/{_batch_id(sub)}.html"


def _batch_id(sub: dict) -> str:
    return f"{sub.get('kabkota_code') or 'none'}-{sub['submission_id']}"


def build_round_site(eng: Engine, round_id: str, out_dir: Path | None = None) -> Path:
    """Build (or bring up to date) the round's Data Docs site; the path of its index.html."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    site = site_dir(round_id, out_dir)
    site.mkdir(parents=True, exist_ok=True)
    with eng.connect() as conn:
        subs, results = _round_rows(conn, round_id)
        specs = _specs(conn, {(r["suite_name"], r["suite_version"]) for r in results})
    by_sub: dict[int, dict[tuple[str, str], list[dict]]] = {}
    for r in results:
        if r["expectation_type"] == "dtks_parse_file":
            continue  # refused by the parser: no GX expectation ran (shown in the index)
        by_sub.setdefault(r["submission_id"], {}).setdefault((r["suite_name"], r["suite_version"]), []).append(r)

    context = gx.get_context(mode="ephemeral")
    site_name = f"round_{round_id}"
    context.add_data_docs_site(site_name, {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    configs: dict[tuple[str, str], dict[str, object]] = {}
    to_build: list = []
    for key, spec in sorted(specs.items()):
        gx_suite = build_gx_suite(spec)
        gx_suite.name = _gx_name(*key)
        context.suites.add(gx_suite)
        configs[key] = {e.meta["reason_code"]: e.configuration for e in gx_suite.expectations}
        to_build.append(ExpectationSuiteIdentifier(name=gx_suite.name))
    pages: dict[int, dict[str, str]] = {}
    final = {"merged", "rejected", "superseded"}
    for sub in subs:
        # One GX page per submission (rendering is the slow part): the row suite when it ran,
        # else the critical suite that refused the file; both suites' failures are in the index.
        ran = {k: v for k, v in by_sub.get(sub["submission_id"], {}).items() if k in configs}
        rows_key = next((k for k in ran if k[0] == ROW_SUITE_NAME), None)
        for key, rows in sorted(ran.items()):
            if rows_key is not None and key != rows_key:
                continue
            name = _gx_name(*key)
            received = sub["received_at"]
            page = _page_path(name, sub, received)
            pages.setdefault(sub["submission_id"], {})[key[0]] = page
            if (site / page).exists() and sub["status"] in final:
                continue  # a finished submission's page does not change
            evrs = []
            for r in rows:
                config = configs[key].get(r["reason_code"])
                if config is None:
                    continue
                n, bad = int(r["element_count"]), int(r["unexpected_count"])
                evrs.append(ExpectationValidationResult(
                    success=bool(r["success"]), expectation_config=config,
                    result={"element_count": n, "unexpected_count": bad, "missing_count": 0,
                            "unexpected_percent": (100.0 * bad / n) if n else 0.0,
                            "partial_unexpected_list": []}))
            ok = sum(1 for e in evrs if e.success)
            run_id = RunIdentifier(run_name=f"submission-{sub['submission_id']}", run_time=received)
            validated_at = max(r["validated_at"] for r in rows)
            result = ExpectationSuiteValidationResult(
                success=ok == len(evrs), results=evrs, suite_name=name,
                statistics={"evaluated_expectations": len(evrs), "successful_expectations": ok,
                            "unsuccessful_expectations": len(evrs) - ok,
                            "success_percent": (100.0 * ok / len(evrs)) if evrs else 100.0},
                meta={"active_batch_definition": {
                          "datasource_name": "warehouse",
                          "data_asset_name": f"{sub.get('kabkota_code') or '-'} #{sub['submission_id']}",
                          "batch_identifiers": {}},
                      "batch_spec": {"data_asset_name": f"{sub.get('kabkota_code') or '-'} #{sub['submission_id']}"},
                      "run_id": run_id, "validation_time": validated_at.isoformat(),
                      "suite_version": key[1], "pipeline_run": rows[0]["run_id"],
                      "file_sha256": sub["sha256"]})
            vkey = ValidationResultIdentifier(expectation_suite_identifier=ExpectationSuiteIdentifier(name=name),
                                              run_id=run_id, batch_identifier=_batch_id(sub))
            context.validation_results_store.set(vkey, result)
            to_build.append(vkey)
    if to_build:
        context.build_data_docs(site_names=[site_name], resource_identifiers=to_build, build_index=False)
    _offline(site)
    index = site / "index.html"
    _write_text(index, _index_html(round_id, subs, results, pages, specs))
    log.info("data docs for round %s: %d submissions, %d pages rebuilt", round_id, len(subs), len(to_build))
    return index


def build_sites_for(eng: Engine, submission_ids: list[int], out_dir: Path | None = None) -> dict[str, str]:
    """Bring the Data Docs of every round these submissions count for up to date."""
    with eng.connect() as conn:
        rounds = sorted(r for r in conn.execute(sa.text(
            "SELECT DISTINCT round_id FROM audit.submission WHERE submission_id = ANY(:ids) AND round_id IS NOT NULL"),
            {"ids": [int(i) for i in submission_ids]}).scalars())
    return {r: str(build_round_site(eng, r, out_dir)) for r in rounds}


# ----------------------------------------------------------------- offline pages
def _offline(site: Path) -> None:
    css = site / "static" / "styles" / "dtks_offline.css"
    css.parent.mkdir(parents=True, exist_ok=True)
    _write_text(css, _OFFLINE_CSS.strip() + "\n")
    for page in site.rglob("*.html"):
        if page.name == "index.html" and page.parent == site:
            continue
        text = page.read_text(encoding="utf-8")
        if "dtks_offline.css" in text:
            continue
        text = _EXTERNAL_SCRIPT.sub("", text)
        text = _EXTERNAL_LINK.sub("", text)
        text = _EXTERNAL_IMG.sub("", text)
        text = _EXTERNAL_HREF.sub('href="#"', text)
        depth = len(page.relative_to(site).parts) - 1
        link = f'<link rel="stylesheet" href="{"../" * depth}static/styles/dtks_offline.css">'
        text = re.sub(r"</head>", link + "</head>", text, count=1, flags=re.IGNORECASE)
        _write_text(page, text)


def _write_text(path: Path, text: str) -> None:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _index_html(round_id: str, subs: list[dict], results: list[dict], pages: dict[int, dict[str, str]],
                specs: dict[tuple[str, str], SuiteSpec]) -> str:
    e = html.escape
    failed: dict[int, list[str]] = {}
    for r in results:
        if not r["success"]:
            failed.setdefault(r["submission_id"], []).append(f"{r['reason_code']} ({r['unexpected_count']})")
    versions: dict[int, set[str]] = {}
    for r in results:
        versions.setdefault(r["submission_id"], set()).add(f"{r['suite_name']} {r['suite_version']}")
    lines = []
    for s in subs:
        links = " ".join(f'<a href="{e(path)}">{e(suite)}</a>'
                         for suite, path in sorted(pages.get(s["submission_id"], {}).items()))
        received = s["received_at"].astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        status_class = "fail" if s["status"] == "rejected" else "ok"
        lines.append(
            "<tr>"
            f"<td>{s['submission_id']}</td><td>{e(s.get('kabkota_code') or '–')}<br>"
            f"<span class=muted>{e(s.get('kabkota_name') or '')}</span></td>"
            f"<td>{e(s['file_name'])}<br><code class=muted>{e(s['sha256'][:16])}…</code></td>"
            f"<td>{e(received)}</td><td class={status_class}>{e(s['status'])}"
            f"{'<br>' + e(s['reject_reason']) if s.get('reject_reason') else ''}</td>"
            f"<td>{_n(s.get('rows_in'))}</td><td>{_n(s.get('rows_accepted'))}</td>"
            f"<td>{_n(s.get('rows_quarantined'))}</td><td>{_n(s.get('rows_warned'))}</td>"
            f"<td>{e(', '.join(sorted(versions.get(s['submission_id'], set()))))}</td>"
            f"<td>{e(', '.join(failed.get(s['submission_id'], [])) or '–')}</td><td>{links or '–'}</td></tr>")
    suites = "".join(
        f'<li><a href="expectations/{e(_gx_name(*key))}.html">{e(key[0])} {e(key[1])}</a> '
        f'<span class=muted>({len(spec.rules)} aturan / rules, sha256 {e(spec.sha256[:16])}…)</span></li>'
        for key, spec in sorted(specs.items()))
    return f"""<!DOCTYPE html>
<html lang="id"><head><meta charset="utf-8">
<title>Data Docs {e(round_id)} — DTKS</title>
<link rel="stylesheet" href="static/styles/dtks_offline.css"></head>
<body>
<h1>Hasil pemeriksaan putaran {e(round_id)} <span class=muted>/ Validation results, round {e(round_id)}</span></h1>
<p>Setiap kiriman kabupaten/kota dengan hasil aturan Great Expectations yang dijalankan (versi aturan
tercatat). Nilai baris tidak ditampilkan. / Every district submission with the Great Expectations rules
that ran on it (suite versions recorded). Row values are not shown.</p>
<h2>Aturan / Suites</h2><ul>{suites or '<li>–</li>'}</ul>
<h2>Kiriman / Submissions ({len(subs)})</h2>
<table><thead><tr><th>ID</th><th>Kab/kota</th><th>Berkas / file</th><th>Diterima / received</th>
<th>Status</th><th>Baris / rows</th><th>Diterima / accepted</th><th>Ditolak / rejected</th>
<th>Peringatan / warnings</th><th>Versi aturan / suite versions</th><th>Aturan gagal / failed rules (rows)</th>
<th>Halaman GX / GX pages</th></tr></thead>
<tbody>
{chr(10).join(lines)}
</tbody></table>
</body></html>
"""


def _n(value) -> str:
    return "–" if value is None else str(value)
