"""Multiple-choice quiz questions, bilingual, with feedback for every wrong option."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    """A sentence in Chinese and in English."""

    zh: str
    en: str

    def in_lang(self, lang: str) -> str:
        """The sentence in `lang` ("zh" or "en")."""
        return self.zh if lang == "zh" else self.en

    def format(self, **values) -> Text:
        """This sentence with its `{placeholders}` filled in; a Text value fills each language with its own words."""
        def fill(lang: str) -> str:
            return self.in_lang(lang).format(**{name: value.in_lang(lang) if isinstance(value, Text) else value
                                                for name, value in values.items()})
        return Text(fill("zh"), fill("en"))


@dataclass(frozen=True)
class Quiz:
    """One auto-graded `quiz_<name>` question: the student assigns one option letter to a variable named `id`."""

    id: str
    question: Text
    options: dict[str, Text]
    answer: str
    feedback: dict[str, Text]
    """Why each wrong option is wrong, keyed by option letter (every wrong letter has one)."""

    def __post_init__(self):
        assert self.id.startswith("quiz_"), self.id
        assert self.answer in self.options, (self.id, self.answer)
        assert set(self.feedback) == set(self.options) - {self.answer}, self.id
