"""The auditor page "DTKS Pemutakhiran" in the Airflow UI (Airflow 3 plugin: fastapi_apps + external_views).

Server-rendered (Jinja2), offline (no CDN, no scripts), read-only. Every
query runs as the ``dtks_auditor`` database role (``dtks.audit.auditor_engine``),
which sees the audit and metrics schemas and masked registry/quarantine views
only; every page and CSV is additionally scrubbed of NIK-like numbers before
it leaves the app. Inside Airflow the pages need a logged-in Airflow user
(any role, e.g. Viewer); ``create_app(require_login=False)`` serves them
without Airflow (tests, a standalone read-only deployment behind other auth).

Routes (under ``/dtks-auditor``):
  /                                   rounds (+ submissions outside any round)
  /rounds/<round>                     summary, links, district table + chart, submissions (filters)
  /rounds/<round>/districts.csv       the district table (filtered)
  /rounds/<round>/submissions.csv     submissions (filtered)
  /rounds/<round>/runs(.csv)          pipeline task runs
  /rounds/<round>/audit-export.html   the round's audit export (one self-contained HTML file)
  /submissions/<id>                   lifecycle, validation results, masked row issues, task runs
  /lineage                            look up one NIK / KK (POST: the number never goes into a URL)
  /files/<round>/<path>               read-only, NIK-scrubbed: out/<round>/ (report.html, data_docs/…)
  /feedback/<round>/[<district>/<file>]  read-only, masked: feedback files in the outbox
"""

from __future__ import annotations

import csv
import io
import json
import mimetypes
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import jinja2
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup, escape
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

HERE = Path(__file__).resolve().parent
URL_PREFIX = "/dtks-auditor"
TITLE = "DTKS Pemutakhiran"
ISSUE_LIMIT = 200
CHART_LIMIT = 40
SHEET_ROW_LIMIT = 2000
_TEXT_SUFFIXES = {".html", ".htm", ".json", ".txt", ".csv", ".md", ".xml", ".svg"}
_PAGE_CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'none'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)
# Files an engineer's tool wrote (report, Data Docs): their own inline styles/scripts, nothing from outside.
_FILE_CSP = (
    "default-src 'self' 'unsafe-inline' data:; connect-src 'self'; object-src 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)


# ---------------------------------------------------------------- formatting helpers
def _num(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float) or (isinstance(v, Decimal) and v != int(v)):
        return f"{float(v):,.1f}".replace(",", "\u202f")
    return f"{int(v):,}".replace(",", "\u202f")


def _pct(v) -> str:
    return "–" if v is None else f"{float(v) * 100:.1f}%"


def _idx(v) -> str:
    return "–" if v is None else f"{float(v):.2f}"


def _yn(v) -> str:
    return "–" if v is None else ("ya / yes" if v else "tidak / no")


def _ts(v) -> str:
    """Stored UTC, shown in WIB with the zone written (dtks.display.wib), to the second for the record."""
    from dtks.display import wib

    return wib(v, seconds=True)


def _js(v, indent: int | None = None) -> str:
    return json.dumps(v, ensure_ascii=False, sort_keys=True, default=str, indent=indent) if v not in (None, {}) else ""


def district_chart(districts: list[dict]) -> Markup:
    """Inline SVG: per district, the update index (bar, coloured by update class) and 24-month coverage."""
    from dtks.display import CLASS_COLOURS, INDEX_THRESHOLDS  # the report's colours and thresholds

    left, right, top, row_h = 270, 60, 52, 22
    width = 900
    plot_w = width - left - right
    height = top + row_h * len(districts) + 34
    xs = lambda v: left + plot_w * max(0.0, min(1.0, float(v)))  # noqa: E731
    parts = [
        f'<svg role="img" class="chart" id="district-chart" viewBox="0 0 {width} {height}" '
        'xmlns="http://www.w3.org/2000/svg" aria-label="Indeks pemutakhiran dan cakupan 24 bulan per '
        'kabupaten/kota / update index and 24-month coverage by district">'
    ]
    for t in range(0, 101, 10):
        x = xs(t / 100)
        parts.append(f'<line x1="{x:.1f}" y1="{top - 8}" x2="{x:.1f}" y2="{height - 26}" class="grid"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle" class="axis">{t}%</text>')
    for thr in INDEX_THRESHOLDS:
        x = xs(thr)
        parts.append(f'<line x1="{x:.1f}" y1="{top - 16}" x2="{x:.1f}" y2="{height - 26}" class="thr"/>')
        parts.append(
            f'<text x="{x + (-3 if thr == INDEX_THRESHOLDS[0] else 3):.1f}" y="{top - 8}" '
            f'text-anchor="{"end" if thr == INDEX_THRESHOLDS[0] else "start"}" class="axis">{thr:.2f}</text>'
        )
    parts.append(
        f'<rect x="{left}" y="6" width="14" height="9" fill="#3e7cb1"/>'
        f'<text x="{left + 18}" y="14" class="axis">indeks / update index</text>'
        f'<rect x="{left + 150}" y="9" width="14" height="4" fill="#9fb3c8"/>'
        f'<text x="{left + 168}" y="14" class="axis">cakupan 24 bln / coverage 24m</text>'
        f'<text x="{left + 350}" y="14" class="axis">warna = kelas / colour = update class</text>'
    )
    for i, d in enumerate(districts):
        y = top + row_h * i
        label = f"{d.get('kabkota_code')} {d.get('kabkota_name') or ''}"[:40]
        parts.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end" class="lbl">{escape(label)}</text>')
        index = d.get("update_index")
        if index is not None:
            colour = CLASS_COLOURS.get(d.get("update_class"), "#3e7cb1")
            parts.append(
                f'<rect x="{left}" y="{y + 3}" width="{xs(index) - left:.1f}" height="11" fill="{colour}">'
                f"<title>{escape(label)}: indeks {_idx(index)}</title></rect>"
                f'<text x="{xs(index) + 4:.1f}" y="{y + 13}" class="axis">{_idx(index)}</text>'
            )
        else:
            parts.append(f'<text x="{left + 4}" y="{y + 13}" class="axis">tidak ada data / no data</text>')
        cov = d.get("coverage_24m")
        if cov is not None:
            parts.append(
                f'<rect x="{left}" y="{y + 15}" width="{xs(cov) - left:.1f}" height="4" fill="#9fb3c8">'
                f"<title>{escape(label)}: cakupan 24 bln {_pct(cov)}</title></rect>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


# ---------------------------------------------------------------- login inside Airflow
def auditor_page_allowed(user, auditor_role: str | None) -> bool:
    """Whether an Airflow user may open the page: with ``auditor_role`` set (production, FAB), Admin or that role.

    FAB users carry ``roles`` (objects with a ``name``); SimpleAuthManager users one
    ``role`` string. Without a named role (the laptop default) any logged-in user may.
    """
    if not auditor_role:
        return True
    names = {getattr(r, "name", r) for r in (getattr(user, "roles", None) or [])}
    if isinstance(getattr(user, "role", None), str):
        names.add(user.role)
    return bool({n.lower() for n in names if isinstance(n, str)} & {"admin", auditor_role.strip().lower()})


async def require_airflow_user(request: Request) -> None:
    """Any Airflow user allowed to see the UI (e.g. the Viewer role); imported lazily (API server only)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api import security

    user = getattr(request.state, "user", None)
    trusted = getattr(security, "USER_INJECTED_BY_TRUSTED_MIDDLEWARE", None)
    if not (user and trusted is not None and getattr(request.state, "user_authenticated_via", None) is trusted):
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else request.cookies.get(COOKIE_NAME_JWT_TOKEN)
        user = await security.resolve_user_from_token(token)  # 401 / 403 when missing or invalid
    if not get_auth_manager().is_authorized_view(access_view=AccessView.WEBSITE, user=user):
        raise HTTPException(status_code=403, detail="Forbidden")
    from dtks.config import settings

    if not auditor_page_allowed(user, settings().auditor_airflow_role):
        raise HTTPException(status_code=403, detail="Forbidden: the auditor page needs the auditor role")
    request.state.dtks_user_name = user.get_name()  # recorded with each lineage lookup


def _login_url(next_url: str) -> str:
    """Airflow's login page (its auth manager's), coming back to ``next_url`` after logging in."""
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager().get_url_login(next_url=next_url)


# ---------------------------------------------------------------- the app
def create_app(engine=None, require_login: bool | None = None) -> FastAPI:
    """The auditor app. ``engine``: default ``dtks.audit.auditor_engine()`` (created on first use)."""
    from dtks import audit, masking
    from dtks.audit_export import render_audit_export, to_csv
    from dtks.config import settings
    from dtks.display import detail_facts, event_label, status_label
    from dtks.rounds import ROUND_ID

    if require_login is None:
        require_login = settings().auditor_require_login
    app = FastAPI(
        title=TITLE,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(require_airflow_user)] if require_login else [],
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined if settings().strict_templates else jinja2.Undefined,
    )
    env.globals.update(
        num=_num,
        pct=_pct,
        idx=_idx,
        yn=_yn,
        ts=_ts,
        js=_js,
        status=status_label,
        event_label=event_label,
        facts=detail_facts,
    )
    state = {"engine": engine}

    def reader() -> audit.AuditReader:
        if state["engine"] is None:
            state["engine"] = audit.auditor_engine()
        return audit.AuditReader(state["engine"])

    def page(request: Request, template: str, status_code: int = 200, **ctx) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        ctx.setdefault("page_title", None)
        ctx.setdefault("nav", "rounds")
        html = env.get_template(template).render(u=lambda p: root + p, **ctx)
        return HTMLResponse(
            masking.scrub_identifiers(html),
            status_code=status_code,
            headers={
                "Content-Security-Policy": _PAGE_CSP,
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    def csv_response(rows: list[dict], name: str) -> Response:
        return Response(
            to_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    def known_round(round_id: str) -> dict:
        rnd = reader().round(round_id) if ROUND_ID.match(round_id) else None
        if rnd is None:
            raise HTTPException(status_code=404, detail=f"Putaran tidak ditemukan / round not found: {round_id}")
        return rnd

    def filters(province: str | None, district: str | None) -> tuple[str | None, str | None]:
        province = province if province and re.fullmatch(r"[0-9]{2}", province) else None
        district = district if district and re.fullmatch(r"[0-9]{4}", district) else None
        return province, district

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 401 and request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            # A browser without a login: to Airflow's login page, and back here afterwards.
            return RedirectResponse(_login_url(str(request.url)), status_code=303)
        if exc.status_code in (401, 403):
            return Response(
                json.dumps({"detail": exc.detail}),
                status_code=exc.status_code,
                media_type="application/json",
                headers=exc.headers,
            )
        return page(request, "error.html", status_code=exc.status_code, status=exc.status_code, message=str(exc.detail))

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        # Never echo a database message (it can quote data): the type only.
        return page(
            request,
            "error.html",
            status_code=503,
            status=503,
            message=f"Gudang data tidak dapat dibaca / the warehouse could not be read ({type(exc).__name__}).",
        )

    @app.get("/", response_class=HTMLResponse, name="index")
    def index(request: Request):
        r = reader()
        return page(request, "index.html", rounds=r.rounds(), other=r.submissions(None))

    @app.get("/rounds/{round_id}", response_class=HTMLResponse)
    def round_page(request: Request, round_id: str, province: str | None = None, district: str | None = None):
        rnd = known_round(round_id)
        province, district = filters(province, district)
        r = reader()
        choices = r.district_choices(round_id)
        provinces = sorted({(c["province_code"], c["province_name"]) for c in choices})
        districts = r.districts(round_id, province, district)
        out_dir, outbox = settings().out_dir / round_id, settings().outbox_dir / round_id
        files = {
            "report": (out_dir / "report.html").is_file(),
            "data_docs": (out_dir / "data_docs" / "index.html").is_file(),
            "feedback": outbox.is_dir() and any(outbox.iterdir()),
        }
        query = {k: v for k, v in (("province", province), ("district", district)) if v}
        charted = districts
        if len(districts) > CHART_LIMIT:  # the districts to follow up first; filters show the rest
            charted = sorted(districts, key=lambda d: (d.get("update_index") is not None, d.get("update_index") or 0))[
                :CHART_LIMIT
            ]
        return page(
            request,
            "round.html",
            page_title=round_id,
            r=rnd,
            n=r.counts(round_id),
            districts=districts,
            chart=district_chart(charted) if districts else "",
            new_districts=r.new_districts(round_id),
            chart_note=len(charted) < len(districts),
            chart_limit=CHART_LIMIT,
            subs=r.submissions(round_id, province, district),
            files=files,
            province_choices=[{"code": c, "name": n} for c, n in provinces],
            district_choices=choices,
            province=province,
            district=district,
            query=("?" + urlencode(query)) if query else "",
        )

    @app.get("/rounds/{round_id}/districts.csv")
    def districts_csv(round_id: str, province: str | None = None, district: str | None = None):
        known_round(round_id)
        province, district = filters(province, district)
        return csv_response(reader().districts(round_id, province, district), f"dtks_districts_{round_id}.csv")

    @app.get("/rounds/{round_id}/submissions.csv")
    def submissions_csv(round_id: str, province: str | None = None, district: str | None = None):
        known_round(round_id)
        province, district = filters(province, district)
        return csv_response(reader().submissions(round_id, province, district), f"dtks_submissions_{round_id}.csv")

    @app.get("/rounds/{round_id}/runs", response_class=HTMLResponse)
    def runs_page(request: Request, round_id: str):
        rnd = known_round(round_id)
        return page(request, "runs.html", page_title=f"{round_id} runs", r=rnd, runs=reader().task_runs(round_id))

    @app.get("/rounds/{round_id}/runs.csv")
    def runs_csv(round_id: str):
        known_round(round_id)
        return csv_response(reader().task_runs(round_id), f"dtks_task_runs_{round_id}.csv")

    @app.get("/rounds/{round_id}/audit-export.html")
    def audit_export(round_id: str):
        known_round(round_id)
        html = render_audit_export(reader().eng, round_id)
        return HTMLResponse(
            html,
            headers={
                "Content-Disposition": f'attachment; filename="dtks_audit_export_{round_id}.html"',
                "Content-Security-Policy": _PAGE_CSP,
                "Cache-Control": "no-store",
            },
        )

    @app.get("/submissions/{submission_id}", response_class=HTMLResponse)
    def submission_page(request: Request, submission_id: int):
        r = reader()
        s = r.submission(submission_id)
        if s is None:
            raise HTTPException(
                status_code=404, detail=f"Kiriman tidak ditemukan / submission not found: {submission_id}"
            )
        return page(
            request,
            "submission.html",
            page_title=f"#{submission_id}",
            s=s,
            events=r.submission_events(submission_id),
            checks=r.validation_results(submission_id),
            issue_summary=r.issue_summary(submission_id),
            issues=r.issues(submission_id, ISSUE_LIMIT),
            issue_limit=ISSUE_LIMIT,
            registry=r.registry_events(submission_id),
            task_runs=r.task_runs(submission_id=submission_id),
        )

    @app.get("/lineage", response_class=HTMLResponse)
    def lineage_form(request: Request):
        return page(
            request, "lineage.html", nav="lineage", page_title="lineage", asked=None, rows=[], attempts=[], error=None
        )

    @app.post("/lineage", response_class=HTMLResponse)
    def lineage_lookup(request: Request, identifier: str = Form("")):
        identifier = identifier.strip()
        if not re.fullmatch(r"[0-9]{16}", identifier):
            return page(
                request,
                "lineage.html",
                nav="lineage",
                page_title="lineage",
                asked=None,
                rows=[],
                attempts=[],
                error="Masukkan 16 digit / enter 16 digits.",
                status_code=422,
            )
        try:
            rows, attempts = reader().lineage_lookup(
                identifier, asked_by=getattr(request.state, "dtks_user_name", None) or "(no Airflow login)"
            )
        except sa_exc.DBAPIError as exc:
            if "lineage:" not in str(getattr(exc, "orig", "")):
                raise
            # the hourly limit (or a role without lookups): say so, never the number
            return page(
                request,
                "lineage.html",
                nav="lineage",
                page_title="lineage",
                asked=None,
                rows=[],
                attempts=[],
                status_code=429,
                error="Batas pencarian per jam tercapai atau tidak diizinkan; setiap pencarian dicatat. / "
                "Hourly lookup limit reached or lookups not allowed; every lookup is recorded.",
            )
        return page(
            request,
            "lineage.html",
            nav="lineage",
            page_title="lineage",
            asked=masking.mask_nik(identifier),
            rows=rows,
            attempts=attempts,
            error=None,
        )

    # ------------------------------------------------------------ files, read-only
    def inside(base: Path, *parts: str) -> Path:
        target = base.joinpath(*parts).resolve()
        if not target.is_relative_to(base.resolve()) or not target.is_file():
            raise HTTPException(status_code=404, detail="File tidak ditemukan / file not found")
        return target

    @app.get("/files/{round_id}/{path:path}")
    def round_file(round_id: str, path: str):
        if not ROUND_ID.match(round_id):
            raise HTTPException(status_code=404, detail="File tidak ditemukan / file not found")
        target = inside(settings().out_dir / round_id, *(path or "report.html").split("/"))
        media = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        headers = {
            "Content-Security-Policy": _FILE_CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        }
        if target.suffix.lower() in _TEXT_SUFFIXES:
            text = masking.scrub_identifiers(target.read_text(encoding="utf-8", errors="replace"))
            return Response(text, media_type=f"{media}; charset=utf-8", headers=headers)
        return Response(target.read_bytes(), media_type=media, headers=headers)

    @app.get("/feedback/{round_id}/", response_class=HTMLResponse)
    def feedback_list(request: Request, round_id: str):
        if not ROUND_ID.match(round_id):
            raise HTTPException(status_code=404, detail="Putaran tidak ditemukan / round not found")
        base = settings().outbox_dir / round_id
        root = request.scope.get("root_path", "").rstrip("/")
        entries = []
        if base.is_dir():
            for f in sorted(p for p in base.rglob("*") if p.is_file() and not p.is_symlink()):
                rel = f.relative_to(base).parts
                district = rel[0] if len(rel) > 1 else ""
                viewable = len(rel) == 2 and f.suffix.lower() in (".csv", ".xlsx")
                entries.append(
                    {
                        "district": district,
                        "name": "/".join(rel[1:]) if district else rel[0],
                        "size": f.stat().st_size,
                        "href": f"{root}/feedback/{round_id}/{rel[0]}/{rel[1]}" if viewable else None,
                    }
                )
        return page(
            request,
            "files.html",
            page_title=f"{round_id} feedback",
            round_id=round_id,
            title=f"File umpan balik / feedback files {round_id}",
            entries=entries,
        )

    @app.get("/feedback/{round_id}/{district}/{name}")
    def feedback_file(request: Request, round_id: str, district: str, name: str):
        if not ROUND_ID.match(round_id) or not re.fullmatch(r"[0-9A-Za-z_-]{1,40}", district):
            raise HTTPException(status_code=404, detail="File tidak ditemukan / file not found")
        target = inside(settings().outbox_dir / round_id, district, name)
        suffix = target.suffix.lower()
        if suffix == ".csv":
            return Response(
                _masked_csv(target, masking),
                media_type="text/csv; charset=utf-8",
                headers={
                    "Content-Disposition": f'attachment; filename="masked_{target.name}"',
                    "Cache-Control": "no-store",
                },
            )
        if suffix == ".xlsx":
            return page(
                request,
                "table.html",
                page_title=target.name,
                round_id=round_id,
                title=target.name,
                sheets=_masked_sheets(target, masking),
            )
        raise HTTPException(status_code=404, detail="Hanya CSV dan XLSX yang ditampilkan / only CSV and XLSX are shown")

    return app


def _masked_csv(path: Path, masking) -> str:
    """A feedback CSV as the pipeline wrote it (standard CSV, UTF-8 with BOM), masked, formulas neutralised.

    No dialect sniffing: messages contain apostrophes, and a sniffer that takes
    ``'`` for the quote character merges rows and drops the formula guard.
    """
    from dtks.spreadsheet_safety import neutralise_formula

    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    header_at = next((i for i, r in enumerate(rows) if sum(1 for c in r if c.strip()) >= 2), 0)
    header = rows[header_at] if rows else []
    for i, row in enumerate(rows):
        cells = [masking.scrub_identifiers(c) for c in row] if i <= header_at else masking.mask_record(header, row)
        # The file's own guard ("'=1+1") stays; anything unguarded gets the same rule as every file we write.
        writer.writerow([neutralise_formula(c) for c in cells])
    return out.getvalue()


def _masked_sheets(path: Path, masking) -> list[dict]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    sheets = []
    try:
        for ws in wb.worksheets:
            rows = [
                ["" if c is None else (c.isoformat() if isinstance(c, (datetime, date)) else str(c)) for c in r]
                for r in ws.iter_rows(values_only=True)
            ]
            rows = [r for r in rows if any(c.strip() for c in r)]
            if not rows:
                continue
            header_at = next((i for i, r in enumerate(rows) if sum(1 for c in r if c.strip()) >= 2), 0)
            header = rows[header_at]
            body = rows[header_at + 1 : header_at + 1 + SHEET_ROW_LIMIT]
            sheets.append(
                {
                    "name": ws.title,
                    "header": [masking.scrub_identifiers(c) for c in header],
                    "rows": [masking.mask_record(header, r) for r in body],
                    "truncated": len(rows) - header_at - 1 > SHEET_ROW_LIMIT,
                }
            )
    finally:
        wb.close()
    return sheets


app = create_app()


class DtksAuditorPlugin(AirflowPlugin):
    name = "dtks_auditor"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": TITLE}]
    external_views = [
        {
            "name": TITLE,
            "href": URL_PREFIX.lstrip("/") + "/",  # relative to the Airflow base URL
            "destination": "nav",
            "category": "browse",
            "url_route": "dtks-pemutakhiran",  # shown inside the Airflow UI at /plugin/dtks-pemutakhiran
            "icon": f"{URL_PREFIX}/static/icon.svg",
        }
    ]
