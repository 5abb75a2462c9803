"""Does the batch's report.html load nothing from elsewhere and render in real headless Chromium?"""
from __future__ import annotations

from html.parser import HTMLParser

import pytest

from support.classes import graded_class
from support.pages import assert_drawn

LOADING = ("src", "srcset", "poster", "data", "background", "xlink:href", "action")
"""Attributes whose URL a browser fetches by itself (an `<a href>` is only followed when clicked)."""


class _Urls(HTMLParser):
    """Collects (tag, attribute, url) for every URL on a page, and the tags used."""

    def __init__(self):
        super().__init__()
        self.urls, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [(tag, name, value or "") for name, value in attrs if name in LOADING + ("href",)]


def assert_loads_nothing(page: str) -> None:
    """Every fetched URL is a data: URI, links stay relative (the feedback pages beside it), no script or link tag."""
    parser = _Urls()
    parser.feed(page)
    assert not {"link", "script", "iframe", "object", "embed", "base"} & set(parser.tags)
    for tag, name, url in parser.urls:
        if tag == "a" and name == "href":
            assert not url.startswith(("http:", "https:", "//", "file:")), url
        else:
            assert url.startswith("data:"), (tag, name, url)
    assert "@import" not in page and "@font-face" not in page and "url(http" not in page


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path_factory, tmp_path):
    """Does Chromium draw a graded class's report.html (a screenshot that is not blank), with nothing fetched?"""
    _, summary = graded_class(tmp_path_factory)
    report = summary.out / "report.html"
    page = report.read_text(encoding="utf-8")
    assert_loads_nothing(page)
    assert page.count('src="data:image/png;base64,') == 2  # the score histogram and the per-question chart
    assert_drawn(report, tmp_path, "text, charts")
