"""The web pages in real headless Chromium (Playwright driving the system `chromium`) against a real server.

One server for the module (one worker, so that a second notebook waits in the queue); alice and bob are students.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect, sync_playwright

from support.notebooks import make_submission, source_notebook

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1200, "height": 1600}
VERDICT_MS = 600_000
HOSTILE = "<script>window.pwned = 1; alert(1)</script><img src=x onerror=\"window.pwned = 2; alert(2)\">"


@pytest.fixture(scope="module")
def served(start_server):
    return start_server("--workers", "1", students=("alice", "bob"))


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


class Person:
    """One browser profile (its own cookies) that records every dialog and console message of its page."""

    def __init__(self, browser, server):
        self.server, self.context = server, browser.new_context(viewport=VIEWPORT)
        self.page, self.dialogs, self.console = self.context.new_page(), [], []
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.page.on("console", lambda message: self.console.append(message.text))

    def open(self, path: str):
        return self.page.goto(self.server.url + path)

    def sign_in(self, token: str) -> "Person":
        self.open("/")
        self.page.fill("input[name=token]", token)
        self.page.click("form.card button[type=submit]")
        return self

    def upload(self, notebook, name: str | None = None, assignment: str = "") -> str:
        """Send a notebook through the form; the submission id of the page it lands on."""
        files = {"name": name or notebook.name, "mimeType": "application/json", "buffer": notebook.read_bytes()}
        self.page.set_input_files("input[name=notebook]", files)
        self.page.select_option("select[name=assignment]", assignment)
        self.page.click("form.card button[type=submit]")
        return self.page.url.rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def alice_graded(served, browser, scenario):
    """alice signs in and uploads a buggy masked_attention notebook while bob's keeps the one worker busy."""
    server, tokens = served
    server.submit(tokens["bob"], scenario("bert_heads", "perfect"))  # the slowest notebook, graded first
    alice = Person(browser, server).sign_in(tokens["alice"])
    submission = alice.upload(scenario("masked_attention", "buggy"))
    first_state = alice.page.get_attribute("#state", "data-status")
    alice.page.wait_for_selector(".attn-fb .total", timeout=VERDICT_MS)  # the page reloads itself once graded
    score = server.get(f"/api/submissions/{submission}", tokens["alice"]).json()["result"]["score"]
    return alice, submission, first_state, f"{score:g} / 14"


def test_sign_in_upload_and_watch_it_go_from_queued_to_done(alice_graded):
    """Does the page show the upload queued, then by itself the score, the mistake and the pictures?"""
    alice, submission, first_state, total = alice_graded
    assert first_state == "queued"
    assert alice.page.get_attribute("#state", "data-status") == "done"
    assert total in alice.page.inner_text(".attn-fb .total") and total != "14 / 14"
    assert "triu-instead-of-tril" in alice.page.inner_text("#q-causal_mask")
    pictures = alice.page.eval_on_selector_all("#q-causal_mask img, #q-masked_self_attention img",
                                               "images => images.map(i => i.complete && i.naturalWidth)")
    assert len(pictures) == 2 and all(width > 100 for width in pictures)  # the SVGs of her own values, drawn
    assert not alice.dialogs and not [m for m in alice.console if "Content Security Policy" in m]


def test_a_second_student_cannot_open_the_first_one_s_page(alice_graded, served, browser):
    """Does bob get 404 for alice's page and its status, and does someone signed out get the sign-in form?"""
    _, submission, _, total = alice_graded
    server, tokens = served
    bob = Person(browser, server).sign_in(tokens["bob"])
    answer = bob.open(f"/submissions/{submission}")
    assert answer.status == 404 and "not yours to see" in bob.page.inner_text("main")
    assert ".attn-fb" not in bob.page.content() and total not in bob.page.content()
    assert bob.open(f"/submissions/{submission}/state").status == 404
    stranger = Person(browser, server)
    stranger.open(f"/submissions/{submission}")
    assert stranger.page.url == server.url + "/" and stranger.page.is_visible("input[name=token]")


def test_a_notebook_s_markup_runs_nothing(alice_graded, served, browser, tmp_path):
    """A notebook whose file name and error message carry <script> and <img onerror>: shown as text, never run?"""
    alice = alice_graded[0]
    server, _ = served
    notebook = make_submission(source_notebook("attention_by_hand"), tmp_path / "hostile.ipynb",
                               append=[f"raise ValueError({HOSTILE!r})"])
    alice.open("/")
    answer_id = alice.upload(notebook, name=f"{HOSTILE}.ipynb", assignment="attention_by_hand")
    alice.page.wait_for_selector(".attn-fb .total", timeout=VERDICT_MS)
    text = alice.page.inner_text("main")
    assert "<script>window.pwned = 1" in text and "onerror=" in text  # shown, as text
    assert alice.page.evaluate("typeof window.pwned") == "undefined" and not alice.dialogs
    for path in (f"/submissions/{answer_id}", "/me"):
        policy = alice.open(path).headers["content-security-policy"]
        assert "default-src 'self'" in policy and "unsafe-inline" not in policy
        assert alice.page.evaluate("typeof window.pwned") == "undefined" and not alice.dialogs


def test_the_instructor_sees_the_board_live_and_downloads(alice_graded, served, browser, scenario):
    """Does the board list alice's mistake for its question, pick up bob's without a reload, and the downloads
    work with the instructor's session?"""
    server, tokens = served
    teacher = Person(browser, server).sign_in(tokens["instructor"])
    assert teacher.page.url == server.url + "/instructor"
    teacher.open("/instructor?assignment=masked_attention")
    row = teacher.page.locator("#board tr", has_text="triu-instead-of-tril")
    assert row.locator("td").all_inner_texts()[:4] == ["causal_mask", "triu-instead-of-tril", "1", "1"]
    server.verdict(tokens["bob"], server.submit_when_allowed(tokens["bob"], scenario("masked_attention", "buggy"))
                   .json()["id"])
    expect(row.locator("td").nth(2)).to_have_text("2", timeout=60_000)  # the page's own script refreshed the board
    csv = teacher.context.request.get(f"{server.url}/instructor/download/masked_attention/grades.csv")
    assert csv.status == 200 and "alice" in csv.text() and "bob" in csv.text()
    assert teacher.context.request.get(f"{server.url}/instructor/download/masked_attention/report.html").ok
    student = Person(browser, server).sign_in(tokens["bob"])
    assert student.open("/instructor").status == 403


@pytest.mark.parametrize("path", ["/", "/me", "/instructor"])
def test_pages_draw(path, alice_graded, served, browser, tmp_path):
    """Are /, /me and /instructor drawn in Chromium (a full-size screenshot that is not blank), in both languages?"""
    from matplotlib.image import imread
    server, tokens = served
    person = Person(browser, server).sign_in(tokens["instructor" if path == "/instructor" else "alice"])
    for lang, word in (("zh", "退出"), ("en", "Sign out")):
        person.open(f"{path}?lang={lang}")
        assert word in person.page.inner_text("header")
        png = tmp_path / f"{lang}.png"
        person.page.screenshot(path=str(png))
        pixels = imread(png)[..., :3].mean(axis=-1)
        assert pixels.shape == (1600, 1200) and png.stat().st_size > 10_000
        assert pixels.std() > 0.05 and (pixels < 0.5).mean() > 0.01, f"{path} looks blank"
    if path == "/me":
        assert person.page.locator("svg.chart circle").count() >= 1  # the score over her attempts


def test_the_session_cookie_and_forms_resist_other_sites(alice_graded, served, browser):
    """Is the cookie HttpOnly, SameSite=Strict (Secure behind https), and is a form without our csrf refused?"""
    server, tokens = served
    signed = server.request("POST", "/signin", data={"token": tokens["bob"]}, follow_redirects=False,
                            headers={"X-Forwarded-Proto": "https"})
    cookie = signed.headers["set-cookie"].lower()
    assert signed.status_code == 303 and all(flag in cookie for flag in ("httponly", "samesite=strict", "secure"))
    bob = Person(browser, server).sign_in(tokens["bob"])
    forged = bob.context.request.post(f"{server.url}/signout", form={"csrf": "guess"})
    assert forged.status == 403 and bob.open("/me").url.endswith("/me")  # still signed in
    elsewhere = bob.context.request.post(f"{server.url}/signin", form={"token": tokens["alice"]},
                                         headers={"Origin": "https://evil.example"})
    assert elsewhere.status == 403
