"""``report.html``: the report of a run as one self-contained, printable page.

Built from the same blocks as ``report.md`` (:func:`rplsim.outputs.report.report_blocks`), so
the two say the same thing. Self-contained: the figures are inlined as SVG (read from the
results folder being written), the style sheet is inline, and the page references no outside
URL, so it can be mailed, archived or opened offline. Every text is escaped by
:func:`rplsim.outputs.escape.html_text`.

Written by hand rather than by a template engine (jinja2) or a Markdown converter: the page
has seven kinds of block, and neither library is on the design card.

Inlined SVGs are cleaned of what would reach outside the page or clash inside it: the XML
prolog, DOCTYPE and RDF metadata (which name outside namespaces) are dropped, the ``xmlns``
declarations too (HTML parses inline SVG without them), and every ``id`` is prefixed per
figure so that two figures' clip paths and glyphs cannot collide.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from pathlib import PurePath
from typing import Any

from rplsim.outputs.escape import html_text
from rplsim.outputs.report import Block, _cell

__all__ = ["PAGE_CSS", "build_html", "inline_svg"]

PAGE_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f;
       max-width: 60rem; margin: 2rem auto; padding: 0 1.2rem; }
h1 { font-size: 1.6rem; margin-bottom: .3rem; } h2 { font-size: 1.25rem; margin-top: 2rem;
       border-bottom: 1px solid #ddd; padding-bottom: .2rem; } h3 { font-size: 1.05rem; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .9rem; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f4f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
caption, .caption { caption-side: bottom; text-align: left; color: #555; font-size: .85rem;
       padding: .3rem 0; }
figure { margin: 1rem 0; } figure svg { width: 100%; height: auto; }
figcaption { font-size: .9rem; color: #333; } .answer { background: #f5f8ff; border-left: 4px solid #1f5fa8;
       padding: .6rem .9rem; } code { font-size: .85rem; }
@media print {
  body { max-width: none; margin: 0; font-size: 11pt; }
  h2 { break-after: avoid; } figure, table { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""

_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_XMLNS = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')
_ID = re.compile(r'\bid="([^"]+)"')
_HREF = re.compile(r'(xlink:href|href)="#([^"]+)"')
_URL = re.compile(r"url\(#([^)]+)\)")


def inline_svg(svg: str, prefix: str) -> str:
    """``svg`` (a matplotlib SVG file's text) ready to sit inside an HTML page.

    Examples
    --------
    >>> s = '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
    >>> s += '<g id="a" clip-path="url(#a)"/></svg>'
    >>> inline_svg(s, "f1")
    '<svg><g id="f1-a" clip-path="url(#f1-a)"/></svg>'
    """
    out = _PROLOG.sub("", svg, count=1)
    out = _METADATA.sub("", out)
    out = _XMLNS.sub("", out)
    out = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', out)
    out = _HREF.sub(lambda m: f'{m.group(1)}="#{prefix}-{m.group(2)}"', out)
    return _URL.sub(lambda m: f"url(#{prefix}-{m.group(1)})", out).strip()


def _td(value: Any, code: bool) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<td class="num">{html_text(_cell(value))}</td>'
    text = html_text("" if value is None else value)
    return f"<td><code>{text}</code></td>" if code and text else f"<td>{text}</td>"


def _table(b: Block) -> str:
    code = b.code or (False,) * len(b.header)
    head = "".join(f"<th>{html_text(h)}</th>" for h in b.header)
    body = "".join(
        "<tr>" + "".join(_td(v, c) for v, c in zip(r, code, strict=True)) + "</tr>" for r in b.rows
    )
    cap = f"<caption>{html_text(b.caption)}</caption>" if b.caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(b: Block, read: Callable[[str], str | None], read_bytes: Callable[[str], bytes | None]) -> str:
    f = b.figure
    assert f is not None
    svg_file = next((p for p in f.files if p.endswith(".svg")), None)
    png_file = next((p for p in f.files if p.endswith(".png")), None)
    svg = read(svg_file) if svg_file else None
    png = read_bytes(png_file) if png_file and svg is None else None
    links = ", ".join(
        f'<a href="{html_text(p)}">{html_text(PurePath(p).suffix[1:].upper())}</a>' for p in f.files
    )
    if svg is not None:
        picture = inline_svg(svg, f"fig{b.number}")
    elif png is not None:  # --format png: the PNG inside the page, still self-contained
        data = base64.b64encode(png).decode("ascii")
        picture = (
            f'<img src="data:image/png;base64,{data}" alt="{html_text(f.caption)}" style="max-width:100%">'
        )
    else:  # --format pdf: a browser shows no PDF inline; the link below is the figure
        picture = ""
    return (
        f'<figure id="figure-{b.number}">{picture}<figcaption><strong>Figure {b.number}.</strong> '
        f"{html_text(f.caption)} ({links})</figcaption></figure>"
    )


def build_html(
    blocks: Sequence[Block],
    read_svg: Callable[[str], str | None],
    read_bytes: Callable[[str], bytes | None] = lambda name: None,
) -> str:
    """The blocks as one self-contained HTML page.

    Parameters
    ----------
    blocks : sequence of Block
        From :func:`rplsim.outputs.report.report_blocks`.
    read_svg : callable
        The text of an SVG file of the results folder by its relative name (None if absent).
    read_bytes : callable
        The bytes of a file of the folder (a PNG is embedded when there is no SVG).

    Returns
    -------
    str

    Examples
    --------
    >>> page = build_html([Block("h1", "a <b>"), Block("p", "x & y")], lambda name: None)
    >>> "<h1>a &lt;b&gt;</h1>" in page and "<p>x &amp; y</p>" in page
    True
    """
    title = next((b.text for b in blocks if b.kind == "h1"), "rplsim report")
    parts: list[str] = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            parts.append(f"<{b.kind}>{html_text(b.text)}</{b.kind}>")
        elif b.kind == "p":
            parts.append(f"<p>{html_text(b.text)}</p>")
        elif b.kind == "md":
            parts.append(f'<p class="answer">{html_text(b.html)}</p>')
        elif b.kind == "list" and b.items:
            items = []
            for item in b.items:
                caption, tab, path = item.partition("\t")
                items.append(
                    f'<li><a href="{html_text(path)}">{html_text(caption)}</a></li>'
                    if tab
                    else f"<li>{html_text(item)}</li>"
                )
            parts.append("<ul>" + "".join(items) + "</ul>")
        elif b.kind == "table" and b.rows:
            parts.append(_table(b))
        elif b.kind == "figure":
            parts.append(_figure(b, read_svg, read_bytes))
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html_text(title)}</title>\n<style>{PAGE_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
