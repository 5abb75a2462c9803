"""The self-check of a released notebook, standard library only: the class server, the engine here, or a message.

The released self-check cell is this file (`autograder/release.py` copies it in), so it runs in a kernel where
nothing of this project is installed; `attn-grade check --server` imports it. It never imports the answer key.
"""
import html
import importlib.util
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

SERVER = ""  # `make release SERVER=URL` writes the class server's address here
TOKEN_FILE = Path.home() / ".config" / "attn-grade" / "token"
POLL_S, WAIT_S = 1.0, 900
MESSAGES = {  # key: (中文, English)
    "neither": ("没有班级服务器，也没有装评分引擎：上课的同学请向老师要服务器地址（设置 ATTN_GRADE_SERVER）；自学的同学请在仓库里"
                "运行 make demo，再用 .venv/bin/jupyter lab 打开笔记本", "No class server and no grading engine here: in a "
                "class, ask your instructor for the server's address (set ATTN_GRADE_SERVER); learning on your own, run "
                "make demo in the repository, then open the notebook with .venv/bin/jupyter lab"),
    "not-found": ("找不到当前笔记本：请把路径传给 self_check(\"xxx.ipynb\")",
                  "Cannot tell which notebook this is: pass its path, self_check(\"xxx.ipynb\")"),
    "save-first": ("检查的是磁盘上保存的版本（保存于 {saved}）：先保存笔记本（Ctrl+S / ⌘S），再运行这个单元格。",
                   "This checks the copy saved on disk (saved at {saved}): save the notebook (Ctrl+S / ⌘S) first."),
    "no-token": ("没有令牌：设置 ATTN_GRADE_TOKEN，或把老师给的令牌写进 {path}",
                 "No token: set ATTN_GRADE_TOKEN, or write the token your instructor gave you to {path}"),
    "ask-token": ("{server} 的令牌：", "Your token for {server}: "),
    "ask-save": ("保存到 {path}，以后不再询问？[y/N] ", "Save it to {path} so that you are not asked again? [y/N] "),
    "unreachable": ("连不上班级服务器 {server}（{reason}）", "Cannot reach the class server {server} ({reason})"),
    "http": ("班级服务器回答 HTTP {status}", "The class server answered HTTP {status}"),
    "wait": ("{seconds} 秒后再试", "try again in {seconds} s"),
    "sending": ("正在发送 {name}……", "Sending {name}…"),
    "queued": ("排队中：第 {position} 位", "Queued: position {position}"),
    "grading": ("评分中……", "Grading…"),
    "grading-here": ("正在本机评分……", "Grading on this computer…"),
    "too-long": ("还没评完，稍后请看 {server}/submissions/{id}", "Not graded yet; look at {server}/submissions/{id} later"),
}


class ClientError(Exception):
    """Why a self-check could not be done, as one sentence for the student."""


def say(key, lang=None, **values):
    """A message in `lang` ("zh" or "en"), or in both ("中文 / English") when lang is None."""
    zh, en = (text.format(**values) for text in MESSAGES[key])
    return {"zh": zh, "en": en}.get(lang, f"{zh} / {en}")


def default_lang():
    """"zh" when the locale is Chinese, else "en"."""
    import locale
    name = os.environ.get("LC_ALL") or os.environ.get("LANG") or (locale.getlocale()[0] or "")
    return "zh" if name.lower().startswith("zh") else "en"


def self_check(notebook=None, lang=None, server=SERVER):
    """Check the saved notebook on the class server, else with the engine installed here, else say how to."""
    server, lang = (server or os.environ.get("ATTN_GRADE_SERVER", "")).rstrip("/"), lang or default_lang()
    try:
        if server:
            check_on_server(notebook or find_notebook(), server, lang)
        elif importlib.util.find_spec("autograder") is not None:
            from autograder.selfcheck import self_check as check_here
            check_here(notebook, lang)
        else:
            print(say("neither"))
    except (ClientError, FileNotFoundError) as exc:
        print(exc)


def check_on_server(path, server, lang, token=None):
    """Send the saved notebook, show its progress and then its verdict; the server's last answer (a dict)."""
    token, asked = find_token(server, token)
    print(saved_note(path, lang))
    status = Status()
    answer = submit_and_wait(path, server, token, lang, status.show)
    if asked:
        offer_to_save(token)
    if in_kernel():  # the feedback page styles nothing outside itself, so it can sit in the output
        status.show(request(f"{server}/api/submissions/{answer['id']}/feedback?lang={lang}", token).decode(), True)
    else:
        print(summary(answer["result"]))
    return answer


def submit_and_wait(path, server, token, lang, show, assignment=None):
    """POST the notebook (multipart/form-data), then poll it until graded; `show(text)` gets each status."""
    show(say("sending", lang, name=Path(path).name))
    boundary, name = uuid.uuid4().hex, Path(path).name.replace('"', "_")
    fields = {"lang": lang, **({"assignment": assignment} if assignment else {})}
    body = b"".join([*(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                       for k, v in fields.items()),
                     f'--{boundary}\r\nContent-Disposition: form-data; name="notebook"; filename="{name}"\r\n'
                     "Content-Type: application/x-ipynb+json\r\n\r\n".encode(), Path(path).read_bytes(),
                     f"\r\n--{boundary}--\r\n".encode()])
    answer = json.loads(request(f"{server}/api/submissions", token, body,
                                {"Content-Type": f"multipart/form-data; boundary={boundary}"}))
    deadline = time.monotonic() + WAIT_S
    while answer["status"] in ("queued", "grading"):
        show(say(answer["status"], lang, position=answer.get("position")))
        if time.monotonic() > deadline:
            raise ClientError(say("too-long", server=server, id=answer["id"]))
        time.sleep(POLL_S)
        answer = json.loads(request(f"{server}/api/submissions/{answer['id']}?lang={lang}", token))
    return answer


def request(url, token, data=None, headers=None):
    """The body of one HTTP call with the token; any failure as a ClientError of one sentence."""
    call = urllib.request.Request(url, data, {"Authorization": f"Bearer {token}", **(headers or {})})
    try:
        with urllib.request.urlopen(call, timeout=60) as answer:
            return answer.read()
    except urllib.error.HTTPError as exc:
        raise ClientError(error_sentence(exc.code, exc.read(), exc.headers.get("Retry-After"))) from None
    except OSError as exc:  # URLError included: refused, unknown host, timeout, TLS
        raise ClientError(say("unreachable", server=url.split("/api/")[0], reason=getattr(exc, "reason", exc))) from None


def error_sentence(status, body, retry_after=None):
    """The server's own bilingual line for an error (with its wait, on a 429), else its HTTP status."""
    try:
        sentence = json.loads(body)["message"]
    except (ValueError, KeyError, TypeError):
        sentence = say("http", status=status)
    return sentence + (f" ({say('wait', seconds=retry_after)})" if retry_after and retry_after not in sentence else "")


def find_token(server, given=None):
    """(token, whether it was just asked for): given, ATTN_GRADE_TOKEN, the token file, else asked once."""
    saved = TOKEN_FILE.read_text().strip() if TOKEN_FILE.is_file() else ""
    token = (given or os.environ.get("ATTN_GRADE_TOKEN") or "").strip() or saved
    if token:
        return token, False
    try:
        if in_kernel() or sys.stdin.isatty():
            import getpass
            token = getpass.getpass(say("ask-token", server=server)).strip()
    except Exception:  # nowhere to ask: a front end without input
        pass
    if not token:
        raise ClientError(say("no-token", path=TOKEN_FILE))
    return token, True


def offer_to_save(token):
    """Ask once whether to keep a token the server accepted, in a file only its owner can read (0600)."""
    try:
        if input(say("ask-save", path=TOKEN_FILE)).strip().lower() in ("y", "yes", "是"):
            TOKEN_FILE.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with os.fdopen(os.open(TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
                handle.write(token + "\n")
    except Exception:  # nowhere to ask: keep it unsaved
        pass


class Status:
    """One line that changes: an updating display in Jupyter, a line per change on stderr elsewhere."""

    def __init__(self):
        self.handle, self.shown = None, None

    def show(self, text, is_html=False):
        if text == self.shown:
            return
        self.shown = text
        if not in_kernel():
            print(text, file=sys.stderr, flush=True)
            return
        from IPython.display import HTML, display
        shown = HTML(text if is_html else f"<code>{html.escape(text)}</code>")
        if self.handle is None:
            self.handle = display(shown, display_id=True)
        else:
            self.handle.update(shown)


def summary(result):
    """The verdict as plain text: the total, then a line per question."""
    return "\n".join([f"{result['assignment']}: {result['score']:g} / {result['max_score']:g}"] + [
        f"  {q['id']:<30} {q['score']:g}/{q['max_score']:g}  {q['status']}  {', '.join(q['mistakes'])}"
        for q in result["questions"]])


def saved_note(path, lang):
    """The reminder that the copy on disk is checked, and when it was saved."""
    saved = time.strftime("%H:%M:%S", time.localtime(Path(path).stat().st_mtime)) if Path(path).exists() else "?"
    return say("save-first", lang, saved=saved)


def find_notebook(cwd=None):
    """This kernel's notebook: Jupyter's `__session__` / JPY_SESSION_NAME, VS Code's `__vsc_ipynb_file__`, else
    the only .ipynb in the working directory; FileNotFoundError when none of these names one."""
    cwd, names = Path(cwd or os.getcwd()), shell().user_ns if shell() else {}
    for name in (names.get("__session__"), os.environ.get("JPY_SESSION_NAME"), names.get("__vsc_ipynb_file__")):
        if isinstance(name, str) and name.endswith(".ipynb"):
            for candidate in (Path(name), cwd / name, cwd / Path(name).name):
                if candidate.is_file():
                    return candidate
    notebooks = [p for p in cwd.glob("*.ipynb") if p.is_file()]
    if len(notebooks) != 1:
        raise FileNotFoundError(say("not-found"))
    return notebooks[0]


def shell():
    """The running IPython, if any (never imported here: a plain interpreter has none)."""
    return sys.modules["IPython"].get_ipython() if "IPython" in sys.modules else None


def in_kernel():
    """Whether this runs in a Jupyter kernel (which shows HTML), not in a terminal."""
    return hasattr(shell(), "kernel")
