"""What every web page shares: the signed-in caller (an HttpOnly cookie), CSRF checks, the language, a strict CSP.

The cookie holds the person's own token (the one `attn-grade roster` printed), so a page knows its caller exactly as
the API does; JavaScript cannot read it (HttpOnly) and no other site can send it (SameSite=Strict).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from jinja2 import PackageLoader
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from autograder.reports.templating import environment
from autograder.service.api import preferred_lang, service_of
from autograder.service.policies import LANGS
from autograder.service.roster import Caller, caller_for

SESSION_COOKIE, LANG_COOKIE = "attn_session", "attn_lang"
SESSION_DAYS = 120
TEMPLATES = environment(PackageLoader("autograder.service", "templates"))
CSP = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
"""Only this page's own nonce'd <script> and <style> run; pictures are data: URIs; nothing comes from elsewhere."""


def signed_in(request: Request) -> Caller | None:
    """Whoever the session cookie names, or None."""
    token = request.cookies.get(SESSION_COOKIE, "")
    return caller_for(service_of(request).store, token) if token else None


def csrf_token(request: Request) -> str:
    """The hidden form field that proves a POST comes from our own page: a digest of the session's secret."""
    return hashlib.sha256(b"csrf:" + request.cookies.get(SESSION_COOKIE, "").encode()).hexdigest()[:32]


def form_is_ours(request: Request, form) -> bool:
    """Whether a POST comes from one of our pages: its Origin (when sent) is ours, and once signed in the form
    carries the session's csrf_token (SameSite=Strict already keeps other sites' requests from carrying it)."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        return False
    return SESSION_COOKIE not in request.cookies or hmac.compare_digest(str(form.get("csrf", "")), csrf_token(request))


def page_lang(request: Request) -> str:
    """?lang=, else the language chosen before (a cookie), else Accept-Language."""
    asked = request.query_params.get("lang")
    chosen = asked if asked in LANGS else request.cookies.get(LANG_COOKIE)
    return preferred_lang(request, chosen if chosen in LANGS else None)


def new_nonce() -> str:
    """A fresh CSP nonce: one per page, for its <style> and <script> elements."""
    return secrets.token_urlsafe(16)


def render_page(request: Request, template: str, status: int = 200, nonce: str | None = None,
                **context) -> HTMLResponse:
    """A template filled in for this request (its nonce, language, caller and csrf token) with every page's headers."""
    nonce, lang = nonce or new_nonce(), page_lang(request)
    html = TEMPLATES.get_template(template).render(**{"caller": None, **context}, lang=lang, nonce=nonce,
                                                   path=request.url.path, csrf=csrf_token(request))
    response = HTMLResponse(html, status, headers=page_headers(nonce))
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=SESSION_DAYS * 86400, samesite="strict", secure=is_https(request))
    return response


def page_headers(nonce: str) -> dict[str, str]:
    return {"Content-Security-Policy": CSP.format(nonce=nonce), "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


def sign_in(request: Request, token: str, to: str) -> Response:
    """Redirect to `to` with the session cookie set to `token`."""
    response = RedirectResponse(to, 303)
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_DAYS * 86400, httponly=True, samesite="strict",
                        secure=is_https(request))
    return response


def sign_out(request: Request) -> Response:
    response = RedirectResponse("/", 303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict", secure=is_https(request))
    return response


def is_https(request: Request) -> bool:
    """Whether the browser reached us over https (directly, or through a proxy that says so)."""
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
