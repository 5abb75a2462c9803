"""The HTTP API of SPEC §8: submit a notebook, follow it, read its verdict and feedback; the instructor's exports."""
from __future__ import annotations

import base64

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from assignments import ASSIGNMENT_IDS
from autograder.result import Result
from autograder.service.errors import ServiceError
from autograder.service.exports import EXPORTS, export
from autograder.service.logs import log_event
from autograder.service.policies import LANGS, admit, check_lang, check_size, read_notebook, upload_limit_bytes
from autograder.service.roster import Caller, caller_for
from autograder.service.store import Submission

FORM_OVERHEAD_BYTES = 64 * 2**10
"""What a multipart body may carry beyond the notebook itself (boundaries, headers, the small fields)."""
DRAIN_LIMIT_BYTES = 256 * 2**20
"""How much of an over-large body is still read (and dropped) so that the client gets its 413 rather than a reset."""


def service_of(request: Request):
    """The running Service (app.py) behind a request."""
    return request.app.state.service


def authenticate(request: Request) -> Caller:
    """The caller named by `Authorization: Bearer TOKEN`.

    Raises:
        ServiceError: no-token or bad-token (401).
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ServiceError("no-token")
    caller = caller_for(service_of(request).store, token.strip())
    if caller is None:
        raise ServiceError("bad-token")
    return caller


def describe(request: Request, submission: Submission, with_result: bool) -> dict:
    """A submission as the API shows it (SPEC §8); `result` only where asked and only once graded."""
    data = {"id": submission.id, "student": submission.student, "assignment": submission.assignment,
            "status": submission.status, "position": service_of(request).store.position(submission),
            "received_at": submission.received_at, "late": submission.late}
    return data | ({"result": submission.result} if with_result else {})


def visible_submission(request: Request, caller: Caller, lang: str | None = None) -> Submission:
    """The submission named in the path, if the caller may see it (its student, or an instructor); else 404.

    Its Result is in `lang` where graded in it, else (None, or a submission graded before the service kept both
    languages) in the submission's own language.
    """
    submission = service_of(request).store.get(request.path_params["id"], lang)
    if submission is None or not (caller.is_instructor or submission.student == caller.name):
        raise ServiceError("no-such-submission")
    return submission


def preferred_lang(request: Request, asked: str | None) -> str:
    """The language asked for, else the first of zh/en in Accept-Language, else English."""
    if check_lang(asked):
        return asked
    accepted = request.headers.get("accept-language", "").lower()
    found = {lang: accepted.find(lang) for lang in LANGS if lang in accepted}
    return min(found, key=found.get) if found else "en"


async def submit(request: Request) -> Response:
    """POST /api/submissions: store the notebook durably, then answer 202 (or 200 for bytes already sent)."""
    caller = authenticate(request)
    service = service_of(request)
    body = await _read_body(request, upload_limit_bytes(service.config) + FORM_OVERHEAD_BYTES, service.config)
    form = await _parse_form(request, body)
    upload = form.get("notebook")
    if upload is None or isinstance(upload, str):
        raise ServiceError("no-notebook")
    data = await upload.read()
    check_size(len(data), service.config)
    lang = preferred_lang(request, form.get("lang") or None)
    assignment, filename = await run_in_threadpool(read_notebook, upload.filename, data,
                                                   form.get("assignment") or None)
    submission, new = await run_in_threadpool(admit, service.store, service.config, caller.name, assignment,
                                              filename, data, lang)
    if not new:
        return JSONResponse(describe(request, service.store.get(submission.id, lang), with_result=True), 200)
    position = service.store.position(submission)
    service.queue.wake()
    log_event("accepted", id=submission.id, student=submission.student, assignment=assignment,
              sha256=submission.sha256, bytes=len(data), late=submission.late)
    return JSONResponse({"id": submission.id, "status": "queued", "position": position}, 202)


def list_submissions(request: Request) -> Response:
    """GET /api/submissions: the caller's submissions (an instructor's: everyone's), newest first, no results."""
    caller = authenticate(request)
    student, assignment = request.query_params.get("student"), request.query_params.get("assignment")
    if not caller.is_instructor:
        if student not in (None, caller.name):
            return JSONResponse([])
        student = caller.name
    found = service_of(request).store.list(student=student, assignment=assignment)
    return JSONResponse([describe(request, s, with_result=False) for s in found])


def get_submission(request: Request) -> Response:
    """GET /api/submissions/{id}[?lang=zh|en]: its state, and its Result once graded (in `lang`; by default in the
    submission's own language)."""
    caller = authenticate(request)
    lang = check_lang(request.query_params.get("lang"))
    return JSONResponse(describe(request, visible_submission(request, caller, lang), with_result=True))


def feedback(request: Request) -> Response:
    """GET /api/submissions/{id}/feedback[?lang=zh|en]: the feedback page of `attn-grade check --html`, pictures
    included, in the language of the Result it shows."""
    caller = authenticate(request)
    submission = visible_submission(request, caller, check_lang(request.query_params.get("lang")))
    if submission.result is None:
        raise ServiceError("not-graded", status=submission.status)
    from autograder.reports.html import render_feedback_page
    figures = {q: base64.b64decode(picture) for q, picture in (submission.figures or {}).items()}
    return HTMLResponse(render_feedback_page(Result.from_dict(submission.result), submission.result_lang, figures))


async def assignment_export(request: Request) -> Response:
    """GET /api/assignments/{assignment}/{grades.csv|results.jsonl|report.html}: instructor only."""
    caller = authenticate(request)
    if not caller.is_instructor:
        raise ServiceError("instructor-only")
    assignment, name = request.path_params["assignment"], request.path_params["name"]
    if assignment not in ASSIGNMENT_IDS:
        raise ServiceError("no-such-assignment", assignment=assignment)
    if name not in EXPORTS:
        raise ServiceError("not-found")
    lang = check_lang(request.query_params.get("lang")) or "en"
    content = await run_in_threadpool(export, service_of(request).store, assignment, name, lang)
    return Response(content, media_type=EXPORTS[name],
                    headers={"Content-Disposition": f'attachment; filename="{assignment}-{name}"'})


def healthz(request: Request) -> Response:
    """GET /healthz (no token): queue lengths and live workers."""
    service = service_of(request)
    counts = service.store.counts()
    return JSONResponse({"ok": True, "queued": counts["queued"], "grading": counts["grading"],
                         "workers": service.queue.live_workers()})


async def _read_body(request: Request, cap: int, config) -> bytes:
    """The request body, or 413 once it passes `cap` bytes (the rest is read and dropped, up to a bound)."""
    declared = request.headers.get("content-length", "")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= cap:
            chunks.append(chunk)
        elif size > DRAIN_LIMIT_BYTES or (declared.isdigit() and int(declared) > DRAIN_LIMIT_BYTES):
            break
    if size > cap:
        raise ServiceError("too-large", limit_mb=config.max_upload_mb)
    return b"".join(chunks)


async def _parse_form(request: Request, body: bytes):
    async def replay():
        return {"type": "http.request", "body": body, "more_body": False}
    try:
        return await Request(request.scope, replay).form(max_part_size=FORM_OVERHEAD_BYTES)
    except HTTPException:  # a malformed multipart body
        raise ServiceError("no-notebook") from None


ROUTES = [
    Route("/healthz", healthz),
    Route("/api/submissions", submit, methods=["POST"]),
    Route("/api/submissions", list_submissions, methods=["GET"]),
    Route("/api/submissions/{id}", get_submission, methods=["GET"]),
    Route("/api/submissions/{id}/feedback", feedback, methods=["GET"]),
    Route("/api/assignments/{assignment}/{name}", assignment_export, methods=["GET"]),
]
