"""Pages as a person sees them: headless Debian chromium, layout measured in the real browser.

``measure`` opens a copy of a page with a small script added that, once the page
has loaded, writes into the DOM what the browser computed: the document's
scrollWidth against the window width (horizontal overflow), the elements that
have a scroll box of their own (overflow auto/scroll with content beyond their
box), and the elements reaching past the right edge. ``print_layout=True``
applies the page's ``@media print`` rules at the printable width of A4
landscape, so the printed layout is measured the same way. ``print_pdf``
prints the page with chromium's own --print-to-pdf.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian chromium not installed (make test installs it: `make browser`)"
)
A4_LANDSCAPE_PX = 1047  # 297 mm less 2 × 10 mm margins, at 96 px per inch

_MEASURE = """<script>addEventListener('load',function(){
var d=document.documentElement,boxes=[],declared=[],wide=[];
function name(e){var c=typeof e.className==='string'&&e.className?'.'+e.className.split(' ').join('.'):'';
return e.tagName.toLowerCase()+(e.id?'#'+e.id:'')+c;}
document.querySelectorAll('body *').forEach(function(e){
if(e.id==='dtks-measure')return;var s=getComputedStyle(e),o=s.overflowX+' '+s.overflowY;
if(/auto|scroll/.test(o)){declared.push(name(e));
if(e.scrollHeight>e.clientHeight+1||e.scrollWidth>e.clientWidth+1)boxes.push(name(e));}
var r=e.getBoundingClientRect();if(r.width>0&&r.right>d.clientWidth+1&&s.position!=='fixed')wide.push(name(e));});
var icon=document.querySelector('i.fas,i.far'),cell=document.querySelector('table.table-sm td');
var p=document.createElement('pre');p.id='dtks-measure';
p.textContent=JSON.stringify({scrollWidth:d.scrollWidth,clientWidth:d.clientWidth,scrollBoxes:boxes,
declaredScroll:declared,wide:wide.slice(0,12),
iconFont:icon?getComputedStyle(icon).fontFamily:null,iconWidth:icon?icon.getBoundingClientRect().width:null,
iconFontLoaded:document.fonts.check('900 16px "Font Awesome 6 Free"'),
idLines:Math.max.apply(null,[0].concat(Array.prototype.map.call(document.querySelectorAll('td.id code'),
function(c){return c.getClientRects().length;}))),
smallCellPadding:cell?getComputedStyle(cell).paddingTop:null});document.body.appendChild(p);});</script>"""


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    env = {**os.environ, "HOME": str(tmp_path)}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)


def dump_dom(tmp_path: Path, url: str, width: int = 1280) -> str:
    result = chromium(tmp_path, f"--window-size={width},1000", "--virtual-time-budget=3000", "--dump-dom", url)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _as_print(html: str) -> str:
    return re.sub(r"@media\s+print", "@media all", html)


def measure(
    tmp_path: Path,
    page: Path,
    width: int = 1280,
    print_layout: bool = False,
    inline_css: dict[str, str] | None = None,
    base: str | None = None,
) -> dict:
    """Layout figures of ``page`` (an HTML file) at ``width`` px, or in its print layout at A4 landscape.

    The measured copy sits beside the page (relative links resolve); ``inline_css`` maps a stylesheet
    href in the page to its text, so a linked stylesheet's print rules can be applied too; ``base`` sets
    a <base href> (a page saved from a server). The page's own Content-Security-Policy is dropped from
    the copy, since it would block the measuring script.
    """
    html = page.read_text(encoding="utf-8")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    for href, css in (inline_css or {}).items():
        html = re.sub(
            r'<link[^>]*href="' + re.escape(href) + r'"[^>]*>', lambda _m, css=css: f"<style>{css}</style>", html
        )
    if base:
        html = html.replace("<head>", f'<head><base href="{base}">', 1)
    if print_layout:
        html, width = _as_print(html), A4_LANDSCAPE_PX
    html = html.replace("</body>", _MEASURE + "</body>", 1) if "</body>" in html else html + _MEASURE
    copy = page.resolve().with_name(f".measure-{page.stem}-{width}.html")
    copy.write_text(html, encoding="utf-8")
    try:
        dom = dump_dom(tmp_path, copy.as_uri(), width)
    finally:
        copy.unlink()
    found = re.search(r'<pre id="dtks-measure">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(
        found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    )


def assert_fits(figures: dict) -> None:
    """No horizontal overflow, nothing past the right edge, no inner scroll box."""
    assert figures["scrollWidth"] <= figures["clientWidth"], figures
    assert figures["wide"] == [], figures
    assert figures["scrollBoxes"] == [] and figures["declaredScroll"] == [], figures


def print_pdf(tmp_path: Path, url: str, out: Path) -> bytes:
    """The page printed by chromium (--print-to-pdf); the PDF's bytes."""
    result = chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={out}", url)
    assert result.returncode == 0, result.stderr[-2000:]
    data = out.read_bytes()
    assert data[:5] == b"%PDF-"
    return data


def pdf_pages(data: bytes) -> list[tuple[float, float]]:
    """(width, height) in points of every page of a PDF chromium wrote (uncompressed page dictionaries)."""
    boxes = re.findall(
        rb"/Type\s*/Page\b(?!s).*?/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", data, re.S
    )
    return [(float(x1) - float(x0), float(y1) - float(y0)) for x0, y0, x1, y1 in boxes]
