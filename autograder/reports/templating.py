"""The one way the project makes HTML: Jinja2 templates, autoescaped, shared by the reports and the service's pages."""
from __future__ import annotations

from jinja2 import BaseLoader, ChoiceLoader, Environment, PackageLoader, StrictUndefined


def points(value: float) -> str:
    """A score as people write it: 2, 1.5, 0.33."""
    return f"{round(value, 2):g}"


def environment(*loaders: BaseLoader) -> Environment:
    """Templates of `loaders` first, then the reports' (base.html, the feedback and class-report fragments).

    Every `{{ value }}` is HTML-escaped (autoescape): student text cannot become markup.
    """
    env = Environment(loader=ChoiceLoader([*loaders, PackageLoader("autograder.reports", "templates")]),
                      autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pts"] = points
    return env


REPORTS = environment()


def render(template: str, **context) -> str:
    """One of the reports' templates, filled in."""
    return REPORTS.get_template(template).render(**context)
