"""Does the service's store keep a verdict in both languages, and still open a `--data` folder of the version before?

No server: the store (a real SQLite file in WAL mode) on its own.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from autograder.result import QuestionResult, Result
from autograder.service.store import DB_NAME, MIGRATIONS, Store


def verdict(lang: str, score: float = 1.0) -> dict:
    """A small Result as plain data, its feedback in `lang`."""
    feedback = "全部检查通过。" if lang == "zh" else "All checks passed."
    return Result("masked_attention", "masked_attention.ipynb", score, 2.0, "bwrap", 1.5,
                  [QuestionResult("causal_mask", score, 2.0, "partial", ["triu-instead-of-tril"], feedback)]).to_dict()


def previous_version_data(data: Path) -> None:
    """A `--data` folder as the version that kept one language wrote it: its schema (the first migration; later
    ones are only ever appended), a student, a submission graded in Chinese and one still queued."""
    (data / "submissions" / "alice").mkdir(parents=True)
    db = sqlite3.connect(data / DB_NAME, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.executescript(f"BEGIN; {MIGRATIONS[0]}; PRAGMA user_version = 1; COMMIT;")
    db.execute("INSERT INTO users VALUES ('alice', 'student', '2024-03-01T09:00:00.000+00:00')")
    for number, (status, result, figures) in enumerate([("done", json.dumps(verdict("zh"), ensure_ascii=False),
                                                         json.dumps({"causal_mask": "PHN2Zy8+"})),
                                                        ("queued", None, None)]):
        (data / "submissions" / "alice" / f"old{number}.ipynb").write_bytes(b"{}")
        db.execute("INSERT INTO submissions (id, student, assignment, filename, sha256, lang, received_at, late, "
                   "status, attempts, finished_at, seconds, result, figures) VALUES (?, 'alice', "
                   "'masked_attention', 'masked_attention.ipynb', ?, 'zh', ?, 0, ?, ?, ?, ?, ?, ?)",
                   (f"old{number}", f"{number}" * 64, f"2024-03-01T09:0{number}:00.000+00:00", status,
                    int(status == "done"), "2024-03-01T09:00:05.000+00:00" if result else None,
                    4.2 if result else None, result, figures))
    db.close()


def test_a_data_folder_of_the_previous_version_opens_and_answers_in_its_stored_language(tmp_path):
    """Does an old `--data` folder get the new table, its graded submission answer in the language it was graded
    in whatever is asked, and its queued one get both languages once graded?"""
    data = tmp_path / "data"
    previous_version_data(data)
    store = Store(data)
    assert store.execute("PRAGMA user_version")[0][0] == len(MIGRATIONS)
    for asked in (None, "zh", "en"):
        old = store.get("old0", asked)
        assert (old.status, old.result, old.result_lang) == ("done", verdict("zh"), "zh")
        assert old.figures == {"causal_mask": "PHN2Zy8+"}
        assert [s.result for s in store.latest_graded("masked_attention", asked)] == [verdict("zh")]
    assert [s.id for s in store.list(student="alice")] == ["old1", "old0"]
    claimed = store.claim_next()
    assert claimed.id == "old1" and claimed.attempts == 1
    assert store.finish("old1", "done", verdict("zh", 2.0), {}, 3.0, {"en": (verdict("en", 2.0), {"q": "eA=="})})
    store.close()
    store = Store(data)  # opened again: nothing migrated twice, everything kept
    assert (store.get("old1").result, store.get("old1", "en").result) == (verdict("zh", 2.0), verdict("en", 2.0))
    assert store.get("old1", "en").figures == {"q": "eA=="} and store.get("old0", "en").result_lang == "zh"
    store.close()


def test_a_verdict_is_kept_in_both_languages_and_only_once(tmp_path):
    """Is a verdict served in the asked language (default: the submission's own), and is nothing written,
    translations included, for a submission that is no longer being graded?"""
    store = Store(tmp_path / "data")
    store.execute("INSERT INTO users (name, role, created_at) VALUES ('bob', 'student', 'now')")
    first, _ = store.add_submission("bob", "masked_attention", "m.ipynb", b"{}", "a" * 64, "en", late=False)
    second, _ = store.add_submission("bob", "masked_attention", "m.ipynb", b"{ }", "b" * 64, "zh", late=False)
    assert store.claim_next().id == first.id
    assert store.finish(first.id, "done", verdict("en"), {"q": "ZW4="}, 1.0, {"zh": (verdict("zh"), {"q": "emg="})})
    graded = {asked: store.get(first.id, asked) for asked in (None, "en", "zh")}
    assert {asked: (s.result, s.figures, s.result_lang) for asked, s in graded.items()} == {
        None: (verdict("en"), {"q": "ZW4="}, "en"), "en": (verdict("en"), {"q": "ZW4="}, "en"),
        "zh": (verdict("zh"), {"q": "emg="}, "zh")}
    assert store.claim_next().id == second.id
    store.requeue([second.id])  # e.g. a shutdown: its late verdict is dropped, in every language
    assert not store.finish(second.id, "done", verdict("zh"), {}, 1.0, {"en": (verdict("en"), {})})
    assert store.get(second.id, "en").result is None
    assert store.execute("SELECT COUNT(*) FROM translations WHERE submission = ?", (second.id,))[0][0] == 0
    store.close()
