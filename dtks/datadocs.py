"""A Great Expectations Data Docs site per round, that an auditor can open offline.

``$DTKS_OUT_DIR/<round>/data_docs/index.html`` lists every district
submission of the round (file, hash, arrival, outcome, counts, suite
versions, the failed rules of both suites) and links, per submission, to
its GX-rendered validation page (the row suite; for a file refused by the
critical suite, that suite) and to the rendered suites themselves — the
rules exactly as they ran, from ``audit.suite_definition``.

The validation pages are rendered by GX's own site builder from the
per-submission, per-rule results recorded in ``audit.validation_result``
(element and failing-row counts), one page per suite that ran (the file suite
and the row suite). Each rule is described in Bahasa Indonesia and English
from its ``meta`` messages. They carry no row values: failing values (NIKs,
names) stay in the quarantine tables, out of reach of the auditor role. The
site is rebuilt from the warehouse, so it can be recreated at any time; pages
of finished submissions are written once.

GX's templates load Bootstrap and Font Awesome (and scripts) from public CDNs;
ministry networks are offline, so every page is post-processed: the two
stylesheets are pointed at copies shipped under the site
(``static/vendor/``, from ``dtks/static/data_docs``), external scripts and the
newsletter footer are removed, collapsed panels are shown open (there is no
script to open them), and times are written in WIB.
"""

from __future__ import annotations

import html
import logging
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

from dtks.config import settings
from dtks.display import status_label, wib
from dtks.identifiers import mask_file_name
from dtks.validation import (
    FILE_SUITE_FILE,
    ROW_SUITE_FILE,
    SuiteSpec,
    build_gx_suite,
    load_suite_spec,
    stored_suite_spec,
)
from dtks.warehouse import read_sql

log = logging.getLogger(__name__)

SITE_FOLDER = "data_docs"
ROW_SUITE_NAME = "dtks_submission_rows"
_EXTERNAL_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.IGNORECASE | re.DOTALL)
_EXTERNAL_LINK = re.compile(r"<link\b[^>]*href=[\"']https?://[^>]*>", re.IGNORECASE)
_EXTERNAL_IMG = re.compile(r"<img\b[^>]*src=[\"']https?://[^>]*>", re.IGNORECASE)
_EXTERNAL_HREF = re.compile(r"href=([\"'])https?://[^\"']*\1", re.IGNORECASE)
_NEWSLETTER = re.compile(
    r"<footer>(?:(?!</footer>).)*newsletter(?:(?!</footer>).)*</footer>", re.IGNORECASE | re.DOTALL
)
_UTC_STAMP = re.compile(r"\b(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:Z|\+00:00)")
VENDOR_SOURCE = Path(__file__).with_name("static") / "data_docs"
# The CDN stylesheets GX 1.24's templates link -> the copy shipped under the site's static/vendor/.
_VENDORED = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap-4.3.1/bootstrap.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome-free-6.6.0/css/all.min.css",
}
_MARK = "dtks_offline.css"
_OFFLINE_CSS = """
/* DTKS: GX pages offline. Panels GX opens with a script are shown open; no inner scroll boxes; wrap long values. */
.collapse{display:block!important}a[data-toggle=collapse]{display:none}
.show-scrollbars,td .show-scrollbars,.table-responsive{overflow:visible!important;max-height:none!important}
.ge-navigation-sidebar-container,.ge-navigation-sidebar-content,.card-body{max-height:none!important;overflow:visible!important}
td,th{overflow-wrap:break-word}.card:has(.btn-group-toggle){display:none}.ge-walkthrough-modal,.modal,#ge-walkthrough-modal{display:none!important}
.dtks-desc{display:block;color:#495057;font-size:.85rem}
@media print{.sticky-top,nav.navbar{position:static!important}.ge-navigation-sidebar-container{display:none}}
/* the round's index page */
body.dtks-index{padding:1.5rem;font-size:.9rem}.dtks-index h1{font-size:1.5rem}.dtks-index h2{font-size:1.2rem;margin-top:1.2rem}
.dtks-index table{table-layout:fixed;width:100%}.dtks-index td,.dtks-index th{padding:.3rem .4rem;vertical-align:top}
.dtks-index code{font-size:.75rem;color:#52606d}.muted{color:#6c757d}.fail{color:#b3261e}.ok{color:#1e7a34}
.dtks-index thead th{position:sticky;top:0;background:#e9ecef}
@media print{.dtks-index thead th{position:static}.dtks-index thead{display:table-header-group}.dtks-index tr{break-inside:avoid}
@page{size:A4 landscape;margin:10mm}}
"""
_SEVERITY_WORDS = {
    "critical": "berkas ditolak / file refused",
    "error": "baris ditolak / row not accepted",
    "warning": "peringatan / warning",
}


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


def _round_rows(conn: sa.Connection, round_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    subs = [
        dict(r) for r in conn.execute(sa.text(read_sql("datadocs/round_submissions.sql")), {"r": round_id}).mappings()
    ]
    results = [
        dict(r)
        for r in conn.execute(sa.text(read_sql("datadocs/round_validation_results.sql")), {"r": round_id}).mappings()
    ]
    return subs, results


def _page_path(suite: str, sub: dict[str, Any], received: datetime) -> str:
    run_time = received.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"validations/{suite}/submission-{sub['submission_id']}/{run_time}/{_batch_id(sub)}.html"


def describe_rule(spec: SuiteSpec, reason_code: str) -> str:
    """A rule as the Data Docs describe it: its code and severity, then its meta messages in both languages
    (placeholders such as ``{value}`` shown as …)."""
    rule = spec.find(reason_code)
    if rule is None:
        return reason_code

    def blank(text: str) -> str:
        # $ starts a GX template parameter: shown as the fullwidth sign
        return re.sub(r"\{[^{}]*\}", "…", text).replace("$", "＄")  # noqa: RUF001

    return (
        f"{reason_code} · {_SEVERITY_WORDS.get(rule.severity, rule.severity)} — "
        f"{blank(rule.message_id)} / {blank(rule.message_en)}"
    )


def _batch_id(sub: dict[str, Any]) -> str:
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
    by_sub: dict[int, dict[tuple[str, str], list[dict[str, Any]]]] = {}
    for r in results:
        if r["expectation_type"] == "dtks_parse_file":
            continue  # refused by the parser: no GX expectation ran (shown in the index)
        by_sub.setdefault(r["submission_id"], {}).setdefault((r["suite_name"], r["suite_version"]), []).append(r)

    context = gx.get_context(mode="ephemeral")
    site_name = f"round_{round_id}"
    context.add_data_docs_site(
        site_name,
        {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    configs: dict[tuple[str, str], dict[str, ExpectationConfiguration]] = {}
    to_build: list[ExpectationSuiteIdentifier | ValidationResultIdentifier] = []
    for key, spec in sorted(specs.items()):
        gx_suite = build_gx_suite(spec)
        gx_suite.name = _gx_name(*key)
        for expectation in gx_suite.expectations:  # GX renders a description instead of its own template
            expectation.description = describe_rule(spec, _reason_code(expectation.meta))
        context.suites.add(gx_suite)
        configs[key] = {_reason_code(e.meta): e.configuration for e in gx_suite.expectations}
        to_build.append(ExpectationSuiteIdentifier(name=gx_suite.name))
    pages: dict[int, dict[str, str]] = {}
    final = {"merged", "rejected", "superseded"}
    for sub in subs:
        # A GX page per suite that ran on the submission: the file suite, and the row suite when the file
        # got that far. A file refused by the parser ran no expectation: the index gives its reason.
        ran = {k: v for k, v in by_sub.get(sub["submission_id"], {}).items() if k in configs}
        for key, rows in sorted(ran.items()):
            name = _gx_name(*key)
            received = sub["received_at"]
            page = _page_path(name, sub, received)
            pages.setdefault(sub["submission_id"], {})[key[0]] = page
            if sub["status"] in final and _PAGE_MARK in _read(site / page):
                continue  # a finished submission's page does not change (unless written by an older version)
            evrs = []
            for r in rows:
                config = configs[key].get(r["reason_code"])
                if config is None:
                    continue
                n, bad = int(r["element_count"]), int(r["unexpected_count"])
                evrs.append(
                    ExpectationValidationResult(
                        success=bool(r["success"]),
                        expectation_config=config,
                        result={
                            "element_count": n,
                            "unexpected_count": bad,
                            "missing_count": 0,
                            "unexpected_percent": (100.0 * bad / n) if n else 0.0,
                            "partial_unexpected_list": [],
                        },
                    )
                )
            ok = sum(1 for e in evrs if e.success)
            run_id = RunIdentifier(run_name=f"submission-{sub['submission_id']}", run_time=received)
            validated_at = max(r["validated_at"] for r in rows)
            result = ExpectationSuiteValidationResult(
                success=ok == len(evrs),
                results=evrs,
                suite_name=name,
                statistics={
                    "evaluated_expectations": len(evrs),
                    "successful_expectations": ok,
                    "unsuccessful_expectations": len(evrs) - ok,
                    "success_percent": (100.0 * ok / len(evrs)) if evrs else 100.0,
                },
                meta={
                    "active_batch_definition": {
                        "datasource_name": "warehouse",
                        "data_asset_name": f"{sub.get('kabkota_code') or '-'} #{sub['submission_id']}",
                        "batch_identifiers": {},
                    },
                    "batch_spec": {"data_asset_name": f"{sub.get('kabkota_code') or '-'} #{sub['submission_id']}"},
                    "run_id": run_id,
                    "validation_time": validated_at.isoformat(),
                    "suite_version": key[1],
                    "pipeline_run": rows[0]["run_id"],
                    "great_expectations_version": gx.__version__,
                    "file_sha256": sub["sha256"],
                },
            )
            vkey = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=name),
                run_id=run_id,
                batch_identifier=_batch_id(sub),
            )
            context.validation_results_store.set(vkey, result)
            to_build.append(vkey)
    if to_build:
        # GX's annotation asks for one kind of identifier; its SiteBuilder renders a mixed list (suites and results).
        context.build_data_docs(
            site_names=[site_name],
            resource_identifiers=to_build,  # type: ignore[arg-type]
            build_index=False,
        )
    _offline(site)
    index = site / "index.html"
    _write_text(index, _index_html(round_id, subs, results, pages, specs, gx.__version__))
    log.info("data docs for round %s: %d submissions, %d pages rebuilt", round_id, len(subs), len(to_build))
    return index


def build_sites_for(eng: Engine, submission_ids: list[int], out_dir: Path | None = None) -> dict[str, str]:
    """Bring the Data Docs of every round these submissions count for up to date."""
    with eng.connect() as conn:
        rounds = sorted(
            r
            for r in conn.execute(
                sa.text(
                    "SELECT DISTINCT round_id FROM audit.submission WHERE submission_id = ANY(:ids) AND round_id IS NOT NULL"
                ),
                {"ids": [int(i) for i in submission_ids]},
            ).scalars()
        )
    return {r: str(build_round_site(eng, r, out_dir)) for r in rounds}


# ----------------------------------------------------------------- offline pages
def _offline(site: Path) -> None:
    """Every GX page made to work offline (see the module's docstring); the stylesheets shipped beside them."""
    shutil.copytree(VENDOR_SOURCE, site / "static" / "vendor", dirs_exist_ok=True)
    css = site / "static" / "styles" / _MARK
    css.parent.mkdir(parents=True, exist_ok=True)
    _write_text(css, _OFFLINE_CSS.strip() + "\n")
    for page in site.rglob("*.html"):
        if page.name == "index.html" and page.parent == site:
            continue
        text = page.read_text(encoding="utf-8")
        if _PAGE_MARK not in text:
            _write_text(page, offline_page(text, len(page.relative_to(site).parts) - 1))


_PAGE_MARK = "<!-- dtks offline v2 -->"


def _reason_code(meta: dict[str, Any] | None) -> str:
    """The reason code of one of our expectations (every one carries it: validation.spec_from_raw checks)."""
    if not meta or "reason_code" not in meta:
        raise ValueError("an expectation of the suite has no meta.reason_code")
    return str(meta["reason_code"])


def offline_page(text: str, depth: int) -> str:
    """One GX page, ``depth`` folders below the site root, as it is shown offline."""
    prefix = "../" * depth

    def local(match: re.Match[str]) -> str:
        target = _VENDORED.get(match.group(2))
        return f'<link rel="stylesheet" href="{prefix}static/vendor/{target}">' if target else ""

    text = re.sub(r"<link\b[^>]*href=([\"'])(https?://[^\"']*)\1[^>]*>", local, text, flags=re.IGNORECASE)
    if "static/vendor/bootstrap" not in text:  # written by an older version, its CDN links already gone
        links = "".join(f'<link rel="stylesheet" href="{prefix}static/vendor/{t}">' for t in _VENDORED.values())
        text = re.sub(r"<head>", "<head>" + links, text, count=1, flags=re.IGNORECASE)
    text = re.sub(r'<link rel="stylesheet" href="[./]*static/styles/dtks_offline\.css">', "", text)
    text = _EXTERNAL_SCRIPT.sub("", text)
    text = _EXTERNAL_IMG.sub("", text)
    text = _EXTERNAL_HREF.sub('href="#"', text)
    text = _NEWSLETTER.sub("", text)
    text = _UTC_STAMP.sub(lambda m: wib(datetime.fromisoformat(f"{m[1]}T{m[2]}+00:00"), seconds=True), text)
    link = f'<link rel="stylesheet" href="{prefix}static/styles/{_MARK}">{_PAGE_MARK}'
    return re.sub(r"</head>", link + "</head>", text, count=1, flags=re.IGNORECASE)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _write_text(path: Path, text: str) -> None:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _index_html(
    round_id: str,
    subs: list[dict[str, Any]],
    results: list[dict[str, Any]],
    pages: dict[int, dict[str, str]],
    specs: dict[tuple[str, str], SuiteSpec],
    gx_version: str,
) -> str:
    e = html.escape
    failed: dict[int, list[str]] = {}
    versions: dict[int, dict[str, str]] = {}
    for r in results:
        versions.setdefault(r["submission_id"], {})[r["suite_name"]] = r["suite_version"]
        if not r["success"]:
            failed.setdefault(r["submission_id"], []).append(
                f'<span title="{e(_SEVERITY_WORDS.get(r["severity"], r["severity"] or ""))}">'
                f"{e(r['reason_code'])} ({r['unexpected_count']})</span>"
            )
    lines = []
    for s in subs:
        sid = s["submission_id"]
        links = "<br>".join(
            f'<a href="{e(path)}">{e(_SUITE_WORDS.get(suite, suite))} {e(versions[sid][suite])}</a>'
            for suite, path in sorted(pages.get(sid, {}).items())
        )
        status_class = "fail" if s["status"] == "rejected" else "ok"
        counts = "".join(
            f"<td class=text-right>{_n(s.get(k))}</td>"
            for k in ("rows_in", "rows_accepted", "rows_quarantined", "rows_warned")
        )
        lines.append(
            "<tr>"
            f"<td>{sid}</td><td>{e(s.get('kabkota_code') or '–')}<br>"
            f"<span class=muted>{e(s.get('kabkota_name') or '')}</span></td>"
            f"<td>{e(mask_file_name(s['file_name']))}<br><code>sha256 {e(s['sha256'][:16])}…</code></td>"
            f"<td>{e(wib(s['received_at']))}</td><td class={status_class}>{e(status_label(s['status']))}"
            f"{'<br><code>' + e(s['reject_reason']) + '</code>' if s.get('reject_reason') else ''}</td>"
            f"{counts}"
            f"<td>{', '.join(failed.get(sid, [])) or '–'}</td><td>{links or _NO_PAGE}</td></tr>"
        )
    suites = "".join(
        f'<li><a href="expectations/{e(_gx_name(*key))}.html">{e(_SUITE_WORDS.get(key[0], key[0]))}: '
        f"{e(key[0])} {e(key[1])}</a> <span class=muted>({len(spec.rules)} aturan / rules,"
        f" sha256 {e(spec.sha256[:16])}…)</span></li>"
        for key, spec in sorted(specs.items())
    )
    return f"""<!DOCTYPE html>
<html lang="id"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Data Docs {e(round_id)} — DTKS</title>
<link rel="stylesheet" href="static/vendor/{_VENDORED[next(iter(_VENDORED))]}">
<link rel="stylesheet" href="static/styles/{_MARK}"></head>
<body class="dtks-index">
<h1>Hasil pemeriksaan putaran {e(round_id)} <span class=muted>/ Validation results, round {e(round_id)}</span></h1>
<p>Setiap kiriman kabupaten/kota dengan hasil aturan Great Expectations yang dijalankan (versi aturan
tercatat). Nilai baris tidak ditampilkan. Waktu dalam WIB. <span class=muted>/ Every district submission with the
Great Expectations rules that ran on it (suite versions recorded). Row values are not shown. Times in WIB.</span></p>
<p class=muted>Great Expectations {e(gx_version)}</p>
<h2>Aturan / Suites</h2><ul>{suites or "<li>–</li>"}</ul>
<h2>Kiriman / Submissions ({len(subs)})</h2>
<table class="table table-sm table-striped"><colgroup><col style="width:4%"><col style="width:12%"><col style="width:17%">
<col style="width:9%"><col style="width:9%"><col style="width:6%"><col style="width:6%"><col style="width:6%"><col style="width:6%">
<col style="width:15%"><col style="width:10%"></colgroup>
<thead><tr><th>ID</th><th>Kab/kota</th><th>Berkas / file</th><th>Diterima / received (WIB)</th>
<th>Status</th><th class=text-right>Baris / rows</th><th class=text-right>Diterima / accepted</th>
<th class=text-right>Ditolak / rejected</th><th class=text-right>Peringatan / warned</th>
<th>Aturan gagal (baris) / failed rules (rows)</th><th>Halaman GX / GX pages</th></tr></thead>
<tbody>
{chr(10).join(lines)}
</tbody></table>
</body></html>
"""


_SUITE_WORDS = {ROW_SUITE_NAME: "baris / rows", "dtks_submission_file": "berkas / file"}
_NO_PAGE = "<span class=muted>– (ditolak sebelum aturan GX / refused before the GX rules)</span>"


def _n(value: object) -> str:
    return "–" if value is None else str(value)
