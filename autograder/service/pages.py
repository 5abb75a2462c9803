"""The web pages of SPEC §8, server-rendered: `/` sign in and upload, `/me` my submissions and score history,
`/submissions/{id}` the feedback, `/instructor` the class report, downloads and the live mistakes board.

A page acts through the JSON API itself (`as_api`: the session's token as the Bearer token), so who may see and send
what is decided in one place, api.py.
"""
from __future__ import annotations

import base64
import json
from datetime import timedelta

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from assignments import ASSIGNMENT_IDS, questions_of
from assignments.mistakes import MISTAKES, explain
from assignments.quiz import Text
from autograder.result import Result
from autograder.service import api
from autograder.service.errors import ServiceError
from autograder.service.exports import EXPORTS
from autograder.service.policies import check_lang
from autograder.service.roster import caller_for
from autograder.service.store import now, timestamp
from autograder.service.web import (SESSION_COOKIE, form_is_ours, new_nonce, page_lang, render_page,
                                    sign_in, sign_out, signed_in)

BOARD_HOURS = 1
BOARD_REFRESH_S, STATUS_REFRESH_S = 10, 1
LABELS: dict[str, Text] = {
    "title": Text("注意力练习 · 自动评分", "Attention exercises · grading"),
    "sign_in": Text("登录", "Sign in"), "sign_out": Text("退出", "Sign out"),
    "token": Text("令牌（老师发给你的）", "Token (the one your instructor gave you)"),
    "upload": Text("提交笔记本", "Hand in a notebook"), "send": Text("提交", "Send"),
    "assignment": Text("作业", "Assignment"), "infer": Text("从文件判断", "tell from the file"),
    "recent": Text("最近的提交", "Recent submissions"), "me": Text("我的提交", "My submissions"),
    "instructor": Text("老师", "Instructor"), "when": Text("时间", "Received"), "status": Text("状态", "Status"),
    "score": Text("得分", "Score"), "late": Text("逾期", "late"), "none": Text("还没有。", "None yet."),
    "history": Text("每次提交的得分", "Score over attempts"), "attempt": Text("第几次", "attempt"),
    "feedback": Text("反馈", "Feedback"), "board": Text("最近一小时的错误", "Mistakes of the last hour"),
    "board_note": Text("每 {s} 秒刷新；“仍然”= 最近一次提交仍有这个错误的学生", "Refreshes every {s} s; “still” = students "
                       "whose latest submission still shows it"),
    "question": Text("题目", "Question"), "mistake": Text("错误", "Mistake"), "meaning": Text("含义", "What it means"),
    "students": Text("学生", "Students"), "still": Text("仍然", "Still"),
    "active": Text("最近一小时有 {n} 名学生交了作业", "{n} students handed in during the last hour"),
    "downloads": Text("下载", "Downloads"), "report": Text("班级报告", "Class report"),
    "no_report": Text("这份作业还没有评完的提交。", "No graded submission of this assignment yet."),
    "not_found": Text("没有这个页面，或者你不能查看它。", "No such page, or it is not yours to see."),
    "instructor_only": Text("只有老师可以查看这个页面。", "Only an instructor may see this page."),
    "refused": Text("这个表单不是从本站页面提交的，已拒绝。请重新打开页面再试。",
                    "This form did not come from one of our pages and was refused; open the page again."),
    "queued": Text("排队中", "queued"), "grading": Text("评分中", "grading"), "done": Text("已评分", "graded"),
    "error": Text("无法评分", "not gradable"),
    "queued_at": Text("排队中：第 {position} 位", "Queued: position {position}"), "grading_now": Text("评分中……", "Grading…"),
}


def labels(lang: str) -> dict[str, str]:
    return {key: text.in_lang(lang) for key, text in LABELS.items()}


def as_api(request: Request, token: str) -> Request:
    """This request as the JSON API would receive it from the same person (their token as the Bearer token)."""
    headers = [(k, v) for k, v in request.scope["headers"] if k != b"authorization"]
    scope = dict(request.scope, headers=[*headers, (b"authorization", f"Bearer {token}".encode())])
    return Request(scope, request.receive)


def show(request: Request, template: str, status: int = 200, **context) -> Response:
    lang = page_lang(request)
    return render_page(request, template, status, t=labels(lang), **context)


def message(request: Request, key: str, status: int, caller=None) -> Response:
    return show(request, "message.html", status, caller=caller, text=labels(page_lang(request))[key])


def refusal(request: Request, error: ServiceError, caller=None) -> Response:
    """A page saying why the service refused: the API's own status and bilingual line."""
    return show(request, "message.html", error.status, caller=caller, text=error.message)


def lang_refused(request: Request, caller) -> Response | None:
    """The bad-lang refusal for a `?lang=` that is neither zh nor en, on a page that shows Results; else None."""
    try:
        check_lang(request.query_params.get("lang"))
    except ServiceError as error:
        return refusal(request, error, caller)
    return None


# ---------------------------------------------------------------- students

async def index(request: Request) -> Response:
    """GET /: the sign-in form, or (signed in) the upload form and the latest submissions."""
    caller = signed_in(request)
    recent = service_store(request).list(student=caller.name)[:5] if caller else []
    return show(request, "index.html", caller=caller, assignments=ASSIGNMENT_IDS, recent=recent, error=None)


async def sign_in_form(request: Request) -> Response:
    """POST /signin: a valid token becomes the session cookie."""
    form = await request.form()
    if not form_is_ours(request, form):
        return message(request, "refused", 403)
    token = str(form.get("token", "")).strip()
    caller = caller_for(service_store(request), token) if token else None
    if caller is None:
        error = ServiceError("bad-token" if token else "no-token")
        return show(request, "index.html", error.status, caller=None, assignments=ASSIGNMENT_IDS, recent=[],
                    error=error.message)
    return sign_in(request, token, "/instructor" if caller.is_instructor else "/")


async def sign_out_form(request: Request) -> Response:
    """POST /signout."""
    return sign_out(request) if form_is_ours(request, await request.form()) else message(request, "refused", 403)


async def upload(request: Request) -> Response:
    """POST /upload?csrf=…: the notebook goes through POST /api/submissions; then to its page."""
    caller = signed_in(request)
    if caller is None:
        return RedirectResponse("/", 303)
    if not form_is_ours(request, {"csrf": request.query_params.get("csrf", "")}):
        return message(request, "refused", 403, caller)
    try:
        answer = json.loads((await api.submit(as_api(request, request.cookies[SESSION_COOKIE]))).body)
    except ServiceError as error:
        recent = service_store(request).list(student=caller.name)[:5]
        return show(request, "index.html", error.status, caller=caller, assignments=ASSIGNMENT_IDS, recent=recent,
                    error=error.message)
    return RedirectResponse(f"/submissions/{answer['id']}", 303)


async def my_submissions(request: Request) -> Response:
    """GET /me: every submission of mine, and a chart of the score over attempts per assignment."""
    caller = signed_in(request)
    if caller is None:
        return RedirectResponse("/", 303)
    mine = service_store(request).list(student=caller.name)
    return show(request, "me.html", caller=caller, submissions=mine, charts=score_charts(mine))


def score_charts(submissions) -> list[dict]:
    """Per assignment (in course order), its graded attempts oldest first as chart points (x, y in 0..1)."""
    charts = []
    for assignment in ASSIGNMENT_IDS:
        graded = [s for s in reversed(submissions) if s.assignment == assignment and s.result]
        if graded:
            top = graded[0].result["max_score"] or 1
            charts.append({"assignment": assignment, "max": top, "points": [
                (i / max(1, len(graded) - 1), s.result["score"] / top, s.result["score"], s.id, s.received_at)
                for i, s in enumerate(graded)]})
    return charts


async def submission_page(request: Request) -> Response:
    """GET /submissions/{id}: the live status, then the feedback (only its student and instructors see it)."""
    caller = signed_in(request)
    if caller is None:
        return RedirectResponse("/", 303)
    if refused := lang_refused(request, caller):
        return refused
    nonce, lang = new_nonce(), page_lang(request)
    try:
        submission = api.visible_submission(request, caller, lang)
    except ServiceError:
        return message(request, "not_found", 404, caller)
    feedback = None
    if submission.result is not None:
        from autograder.reports.html import render_feedback_fragment
        figures = {q: base64.b64decode(picture) for q, picture in (submission.figures or {}).items()}
        feedback = Markup(render_feedback_fragment(Result.from_dict(submission.result), submission.result_lang,
                                                   figures, nonce=nonce))
    return render_page(request, "submission.html", nonce=nonce, t=labels(lang), caller=caller, s=submission,
                       feedback=feedback, state=state_text(request, submission), refresh_s=STATUS_REFRESH_S)


async def submission_state(request: Request) -> Response:
    """GET /submissions/{id}/state: what the status line says now, for the page's polling script."""
    caller = signed_in(request)
    try:
        submission = api.visible_submission(request, caller) if caller else None
    except ServiceError:
        submission = None
    if submission is None:
        return JSONResponse(ServiceError("no-such-submission").body(), 404)
    return JSONResponse({"status": submission.status, "text": state_text(request, submission)})


def state_text(request: Request, submission) -> str:
    """The status line: "Queued: position 2", "Grading…", "graded"…"""
    key = {"queued": "queued_at", "grading": "grading_now"}.get(submission.status, submission.status)
    return labels(page_lang(request))[key].format(position=service_store(request).position(submission))


# ---------------------------------------------------------------- instructors

async def instructor(request: Request) -> Response:
    """GET /instructor[?assignment=ID]: the live mistakes board, the downloads and the class report."""
    caller = signed_in(request)
    if caller is None or not caller.is_instructor:
        return RedirectResponse("/", 303) if caller is None else message(request, "instructor_only", 403, caller)
    if refused := lang_refused(request, caller):
        return refused
    assignment = chosen_assignment(request)
    nonce, lang = new_nonce(), page_lang(request)
    latest = service_store(request).latest_graded(assignment, lang)
    report = None
    if latest:
        from autograder.reports.class_report import class_report_context
        from autograder.reports.templating import render
        results = [Result.from_dict(s.result | {"student": s.student}) for s in latest]
        links = {s.student: f"/submissions/{s.id}" for s in latest}
        report = Markup(render("class_report_body.html", **class_report_context(results, assignment, lang, links,
                                                                                 nonce)))
    return render_page(request, "instructor.html", nonce=nonce, t=labels(lang), caller=caller, assignment=assignment,
                       assignments=ASSIGNMENT_IDS, board=mistakes_board(request, assignment), report=report,
                       exports=EXPORTS, refresh_s=BOARD_REFRESH_S)


async def board(request: Request) -> Response:
    """GET /instructor/board?assignment=ID: the board alone, for the instructor page's polling script."""
    caller = signed_in(request)
    if caller is None or not caller.is_instructor:
        return message(request, "instructor_only", 403, caller)
    return show(request, "board.html", board=mistakes_board(request, chosen_assignment(request)))


def mistakes_board(request: Request, assignment: str) -> dict:
    """The mistake ids graded in the last hour, by question: how many students showed each, and how many still do
    in their latest submission (what to explain next in a lab session)."""
    since = timestamp(now() - timedelta(hours=BOARD_HOURS))
    rows = service_store(request).execute("SELECT student, result FROM submissions WHERE assignment = ? AND status = "
                                          "'done' AND finished_at > ? ORDER BY seq", (assignment, since))
    seen: dict[tuple[str, str], set[str]] = {}
    latest: dict[str, dict] = {}
    for row in rows:
        latest[row["student"]] = result = json.loads(row["result"])
        for q in result["questions"]:
            for mistake in q["mistakes"]:
                seen.setdefault((q["id"], mistake), set()).add(row["student"])
    still = {key: sum(key[1] in next((q["mistakes"] for q in r["questions"] if q["id"] == key[0]), [])
                      for r in latest.values()) for key in seen}
    order = list(questions_of(assignment))
    lang = page_lang(request)
    entries = [{"question": q, "mistake": m, "students": len(seen[(q, m)]), "still": still[(q, m)],
                "meaning": explain(m, lang) if m in MISTAKES else m}
               for q, m in sorted(seen, key=lambda k: (order.index(k[0]) if k[0] in order else len(order),
                                                       -len(seen[k]), k[1]))]
    return {"assignment": assignment, "entries": entries, "active": len(latest)}


async def download(request: Request) -> Response:
    """GET /instructor/download/{assignment}/{name}: an export of SPEC §8, through the API's own route."""
    caller = signed_in(request)
    if caller is None or not caller.is_instructor:
        return message(request, "instructor_only", 403, caller)
    try:
        return await api.assignment_export(as_api(request, request.cookies[SESSION_COOKIE]))
    except ServiceError as error:
        return refusal(request, error, caller)


def chosen_assignment(request: Request) -> str:
    asked = request.query_params.get("assignment")
    return asked if asked in ASSIGNMENT_IDS else ASSIGNMENT_IDS[0]


def service_store(request: Request):
    return api.service_of(request).store


ROUTES = [
    Route("/", index, methods=["GET"]),
    Route("/signin", sign_in_form, methods=["POST"]),
    Route("/signout", sign_out_form, methods=["POST"]),
    Route("/upload", upload, methods=["POST"]),
    Route("/me", my_submissions, methods=["GET"]),
    Route("/submissions/{id}", submission_page, methods=["GET"]),
    Route("/submissions/{id}/state", submission_state, methods=["GET"]),
    Route("/instructor", instructor, methods=["GET"]),
    Route("/instructor/board", board, methods=["GET"]),
    Route("/instructor/download/{assignment}/{name}", download, methods=["GET"]),
]
"""Passed to `create_app(config, routes=ROUTES)` by server.py."""
