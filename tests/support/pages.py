"""Checks on rendered pages: self-contained HTML, and screenshots in real headless Chromium."""
from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path


class _Resources(HTMLParser):
    """Collects every attribute that can make a browser fetch something, and the text of <style> blocks."""

    def __init__(self):
        super().__init__()
        self.urls, self.tags, self.styles, self._in_style = [], [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in ("src", "href", "srcset", "poster", "data", "action", "background", "xlink:href"):
                self.urls.append(value or "")
            if name == "style":
                self.styles.append(value or "")

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def assert_self_contained(page: str) -> None:
    """Nothing on the page can load from elsewhere: only in-page anchors and data: URIs."""
    parser = _Resources()
    parser.feed(page)
    assert parser.urls, "expected at least the overview's in-page links"
    for url in parser.urls:
        assert url.startswith(("#", "data:")), url
        assert not url.startswith(("http:", "https:", "//"))
    assert not {"link", "script", "iframe", "object", "embed", "base"} & set(parser.tags)
    css = "\n".join(parser.styles)
    assert "@import" not in css and "@font-face" not in css
    assert all(u.strip(" '\"").startswith("data:") for u in re.findall(r"url\(([^)]*)\)", css))
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)


def screenshot(page: Path, png: Path, profile: Path) -> None:
    """Render a local page in real headless Chromium, with every host name unresolvable."""
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}", f"--screenshot={png}",
               "--window-size=1200,1600", page.as_uri()]
    subprocess.run(command, capture_output=True, timeout=120, check=True)


def assert_drawn(page: Path, tmp_path: Path, what: str) -> None:
    """Screenshot `page` in real headless Chromium: a 1200 × 1600 image, not blank, with `what` drawn dark."""
    from matplotlib.image import imread
    png = tmp_path / f"{page.stem}.png"
    screenshot(page, png, tmp_path / "profile")
    assert png.is_file() and png.stat().st_size > 10_000
    pixels = imread(png)[..., :3].mean(axis=-1)  # grey levels in [0, 1]
    assert pixels.shape == (1600, 1200)
    assert pixels.std() > 0.05, "the screenshot is blank"
    assert (pixels < 0.5).mean() > 0.01, f"almost nothing dark ({what}) was drawn"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: `make system` installs it (apt-get install chromium)"
    return found
