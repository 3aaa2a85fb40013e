"""rplsim.outputs.html: the page from report blocks, without a run (the run's page is tested in
test_write.py)."""

from __future__ import annotations

import base64

from rplsim.outputs.html import build_html, inline_svg
from rplsim.outputs.report import Block, FigureFiles

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 20


def _figure(files: tuple[str, ...]) -> Block:
    return Block("figure", figure=FigureFiles("x", "a <caption>", files), number=3)


def test_png_only_is_embedded_not_linked_out():
    page = build_html([_figure(("x.png",))], lambda name: None, lambda name: PNG)
    assert f"data:image/png;base64,{base64.b64encode(PNG).decode()}" in page
    assert '<img src="x.png"' not in page and "a &lt;caption&gt;" in page


def test_pdf_only_gives_the_link_and_no_broken_image():
    page = build_html([_figure(("x.pdf",))], lambda name: None, lambda name: None)
    assert "<img" not in page and '<a href="x.pdf">PDF</a>' in page


def test_svg_is_inlined_with_prefixed_ids_and_no_namespace_url():
    svg = (
        '<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg xmlns="http://www.w3.org/2000/svg" '
        'xmlns:xlink="http://www.w3.org/1999/xlink"><metadata><rdf:RDF xmlns:dc="http://purl.org/dc/"/>'
        '</metadata><defs><path id="g1"/></defs><use xlink:href="#g1"/></svg>'
    )
    page = build_html([_figure(("x.png", "x.svg"))], lambda name: svg, lambda name: PNG)
    assert "http" not in page.split("<body>", 1)[1]
    assert 'id="fig3-g1"' in page and 'xlink:href="#fig3-g1"' in page and "data:image/png" not in page
    assert inline_svg(svg, "p").startswith("<svg>")
