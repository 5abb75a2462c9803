"""Every error the service answers: its HTTP status and its one bilingual line (中文 / English), defined once."""
from __future__ import annotations

MESSAGES = {
    # kind: (HTTP status, Chinese, English); {placeholders} are filled from ServiceError's details
    "no-token": (401, "缺少令牌：请发送 Authorization: Bearer 你的令牌",
                 "No token: send Authorization: Bearer YOUR-TOKEN"),
    "bad-token": (401, "令牌无效或已作废，请向老师要一个新的", "Unknown or revoked token; ask your instructor for a new one"),
    "instructor-only": (403, "只有老师可以查看", "Only an instructor may see this"),
    "no-such-submission": (404, "没有这份提交", "No such submission"),
    "no-such-assignment": (404, "没有作业 {assignment}", "No assignment {assignment}"),
    "not-found": (404, "没有这个地址", "No such address"),
    "method-not-allowed": (405, "这个地址不支持 {method}", "Method {method} is not allowed here"),
    "not-graded": (409, "这份提交还没有评完（{status}）", "This submission is not graded yet ({status})"),
    "too-large": (413, "上传超过 {limit_mb:g} MB 的上限，没有保存", "The upload is larger than the {limit_mb:g} MB "
                  "limit and was not stored"),
    "no-notebook": (422, "请用 multipart 表单的 notebook 字段上传 .ipynb 文件",
                    "Send the .ipynb file as the `notebook` field of a multipart form"),
    "invalid-json": (422, "笔记本读不了，可能损坏了：{zh}", "The notebook cannot be read and may be damaged: {en}"),
    "not-a-notebook": (422, "笔记本读不了：{zh}", "The notebook cannot be read: {en}"),
    "unknown-assignment": (422, "没有作业 {assignment}（可选：{known}）", "Unknown assignment {assignment} (known: {known})"),
    "which-assignment": (422, "看不出这是哪一份作业，请填写 assignment 字段（可选：{known}）",
                         "Cannot tell which assignment this is; send the `assignment` field (known: {known})"),
    "bad-lang": (422, "lang（表单字段或 ?lang=）只能是 zh 或 en",
                 "The language (the lang form field or ?lang=) must be zh or en"),
    "in-flight": (429, "你上一份 {assignment} 还在评分，评完后再交", "Your last {assignment} submission is still being "
                  "graded; send again once it is done"),
    "rate-limited": (429, "{assignment} 每小时最多交 {per_hour} 次，请 {retry_after} 秒后再交",
                     "At most {per_hour} submissions of {assignment} an hour; try again in {retry_after} s"),
    "internal": (500, "服务器内部出错，已记入日志", "Internal error of the service; it has been logged"),
}


class ServiceError(Exception):
    """A request the service refuses: `kind` is a key of MESSAGES; details fill its placeholders."""

    def __init__(self, kind: str, retry_after: int | None = None, **details):
        self.kind, self.retry_after, self.details = kind, retry_after, details | {"retry_after": retry_after}
        super().__init__(self.message)

    @property
    def status(self) -> int:
        return MESSAGES[self.kind][0]

    @property
    def message(self) -> str:
        _, chinese, english = MESSAGES[self.kind]
        return f"{chinese.format(**self.details)} / {english.format(**self.details)}"

    def body(self) -> dict:
        """The JSON answer: `{"error": KIND, "message": one bilingual line}`."""
        return {"error": self.kind, "message": self.message}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
