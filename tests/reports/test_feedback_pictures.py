"""Do feedback pages show pictures of the student's own values (never the key's), embedded and drawn by Chromium?"""
from __future__ import annotations

import json
import math
import re
import shutil
from xml.etree import ElementTree

import pytest
import torch
from click.testing import CliRunner

from assignments import bert_heads as bert_key
from assignments import masked_attention as masked_key
from autograder.batch import grade
from autograder.check import check
from autograder.cli import main
from autograder.graders.evidence import Evidence, Kept
from autograder.reports.html import render_feedback_page
from autograder.reports.pictures import draw, evidence_figures
from support.notebooks import make_submission, source_notebook
from support.classes import CLASS, ID, LIMITS, graded_class
from support.pages import assert_drawn, assert_self_contained
from support.answers import CAUSAL_MASK, ENTROPY_LOG2, MSA_TEMPLATE, PLOT_TRANSPOSED, RIGHT

MSA = "masked_self_attention"
CAUSAL = ("causal_mask", MSA, "padding_mask")
TRIU_MSA = MSA_TEMPLATE.format(**(RIGHT | {"causal": "torch.triu(torch.ones(L, L, dtype=torch.bool))"}))
STUDENTS = {  # name → (causal_mask source, masked_self_attention source), as the student wrote them
    "triu": (CAUSAL_MASK["triu-instead-of-tril"], TRIU_MSA),
    "right": ("def causal_mask(seq_len):\n    return torch.tril(torch.ones(seq_len, seq_len, dtype=torch.bool))\n",
              MSA_TEMPLATE.format(**RIGHT)),
}
SEED_PROBE = dict(shape=(2, 3, 5, 8), seed=11)
"""The first masked_self_attention probe (test_msa_seed_shape_float32): [batch, heads, L, d] float32."""


def _seed_probe() -> tuple[torch.Tensor, ...]:
    """The grader's Q, K, V for SEED_PROBE, rebuilt the way `_qkv` builds them."""
    gen = torch.Generator().manual_seed(SEED_PROBE["seed"])
    return tuple(torch.randn(*SEED_PROBE["shape"], generator=gen) for _ in range(3))


def _students_function(source: str, name: str):
    """The student's function, defined here from their own source (trusted test text, not a submission)."""
    namespace = {"torch": torch, "math": math}
    exec(source, namespace)
    return namespace[name]


# ---------------------------------------------------------------- Evidence and drawing, without a sandbox

def test_evidence_prefers_the_value_a_check_failed_on():
    """Is the picture of a question the value its first failing check choked on, else the first value kept?"""
    evidence = Evidence()
    evidence.keep("q", "weights", torch.zeros(2, 3, 4, 4), what="first")
    evidence.settle(False)
    evidence.keep("q", "weights", torch.ones(4, 4), what="passed part of a failing check")
    evidence.keep("q", "weights", torch.full((4, 4), 0.5), what="failing")
    evidence.settle(True)
    evidence.keep("other", "entropy", torch.rand(6, 12))
    evidence.settle(False)
    chosen = evidence.chosen()
    assert chosen["q"].labels["what"] == "failing" and chosen["q"].failed
    assert chosen["other"].values.shape == (6, 12) and not chosen["other"].failed


def test_evidence_keeps_one_slice_and_ignores_what_cannot_be_drawn():
    """Is a batch cut to its first [L, L] slice (with the allowed pattern), and is an odd value skipped quietly?"""
    evidence = Evidence()
    weights = torch.rand(3, 2, 5, 5)
    padding = torch.tensor([[True] * 5, [False, True, True, True, True], [True] * 5]).view(3, 1, 5)
    evidence.keep("p", "weights", weights, allowed=torch.tril(torch.ones(5, 5, dtype=torch.bool)) & padding[..., None, :])
    for odd in ("a string", None, torch.tensor(1.0), torch.zeros(0, 4)):
        evidence.keep("odd", "weights", odd)
    evidence.keep("shape", "weights", torch.rand(4, 4), allowed=torch.ones(5, 5))  # allowed does not fit
    [kept] = evidence.kept
    assert torch.equal(kept.values, weights[0, 0].double())
    assert torch.equal(kept.labels["allowed"], torch.tril(torch.ones(5, 5, dtype=torch.bool)))


def test_every_kind_draws_a_self_contained_svg_even_with_nan_and_markup_in_labels():
    """Do weights (with NaN), entropy and a heatmap with a student's markup in its labels each give a valid SVG
    that loads nothing, in zh and en, with the NaN row drawn red and said so?"""
    evidence = Evidence()
    weights = torch.softmax(torch.randn(4, 4), -1)
    weights[0] = float("nan")
    evidence.keep("padding_mask", "weights", weights, allowed=torch.ones(4, 4, dtype=torch.bool), causal=True)
    evidence.keep("head_entropy", "entropy", torch.rand(6, 12))
    evidence.keep("plot_attention", "heatmap", torch.rand(3, 3), xticklabels=["a", "<b>", "c"],
                  yticklabels=["a", "$b", "c"], title="<script>alert(1)</script>")
    for lang in ("zh", "en"):
        figures = evidence_figures(evidence, lang)
        assert sorted(figures) == ["head_entropy", "padding_mask", "plot_attention"]
        for svg in figures.values():
            root = ElementTree.fromstring(svg)  # well-formed: the student's text is escaped
            assert root.tag == "{http://www.w3.org/2000/svg}svg"
            assert b"href" not in svg and b"url(" not in svg and b"<script" not in svg
        nan_note = "红色 = NaN" if lang == "zh" else "red = NaN"
        assert nan_note.encode() in figures["padding_mask"] and figures["padding_mask"].count(b'fill="#c62828"/>') == 4
        assert nan_note.encode() not in figures["head_entropy"]


def test_cells_are_coloured_by_the_students_values():
    """Is a 0 drawn lightest and a 1 darkest, so the picture shows where the student's weight went?"""
    kept = Kept("causal_mask", "weights", torch.tensor([[1.0, 0.0], [0.5, 0.5]], dtype=torch.float64))
    cells = re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="(\d+)" height="\1" fill="(#[0-9a-f]{6})"/>',
                       draw(kept, "en").decode())
    colours = [colour for _, colour in cells[:4]]
    assert colours == ["#08306b", "#f7fbff", "#6baed6", "#6baed6"]


# ---------------------------------------------------------------- a graded masked_attention notebook

@pytest.fixture(scope="module", params=sorted(STUDENTS))
def masked(request, tmp_path_factory):
    """(name, Result, Evidence, page) for a masked_attention notebook graded in the sandbox."""
    causal_mask, msa = STUDENTS[request.param]
    notebook = make_submission(source_notebook("masked_attention"),
                               tmp_path_factory.mktemp(request.param) / "masked_attention.ipynb",
                               replace={"answer_causal_mask": causal_mask, "answer_masked_self_attention": msa})
    evidence = Evidence()
    result = check(notebook, evidence=evidence, warm=True)
    return request.param, result, evidence, render_feedback_page(result, "en", evidence_figures(evidence, "en"))


@pytest.mark.slow
def test_masked_self_attention_picture_holds_the_students_own_weights(masked):
    """Are the drawn weights exactly what the student's function returns on that probe (not the key's)?"""
    name, result, evidence, _ = masked
    kept = evidence.chosen()[MSA]
    assert kept.kind == "weights" and kept.labels["what"] == "weights (4-D float32)"
    Q, K, V = _seed_probe()
    theirs = _students_function(STUDENTS[name][1], MSA)(Q, K, V)[1]
    assert torch.equal(kept.values, theirs[0, 0].double())
    assert torch.equal(kept.labels["allowed"], torch.tril(torch.ones(5, 5, dtype=torch.bool)))
    mask = evidence.chosen()["causal_mask"]
    assert torch.equal(mask.values, _students_function(STUDENTS[name][0], "causal_mask")(4).double())
    keys = masked_key.masked_self_attention(Q, K, V)[1][0, 0].double()
    if name == "triu":
        assert result.question(MSA).mistakes == ["triu-instead-of-tril"] and kept.failed
        assert not torch.allclose(kept.values, keys), "the key's weights were drawn, not the student's"
    else:
        assert result.question(MSA).status == "passed" and not kept.failed


@pytest.mark.slow
def test_page_embeds_a_picture_per_causal_question_and_no_key_value(masked):
    """Does each causal question show an embedded picture instead of the generic illustration, with no key number?"""
    name, result, evidence, page = masked
    for question_id in CAUSAL:
        section = page.split(f'id="q-{question_id}"')[1].split("</section>")[0]
        assert '<img alt="' in section and 'src="data:image/svg+xml;base64,' in section
        assert "<svg" not in section
    assert_self_contained(page)
    Q, K, V = _seed_probe()
    ours = _students_function(STUDENTS[name][1], MSA)(Q, K, V)[1].flatten().tolist()
    keys = masked_key.masked_self_attention(Q, K, V)[1].flatten().tolist()
    hidden = {f"{v:.4f}" for v in keys} - {f"{v:.4f}" for v in ours} - {"0.0000", "1.0000"}
    assert not any(number in page for number in hidden)
    assert list(result.to_dict()) == ["assignment", "notebook", "score", "max_score", "isolation", "duration_s",
                                      "questions", "errors"]


@pytest.mark.slow
def test_page_with_pictures_renders_in_headless_chromium(masked, tmp_path):
    """Does real headless Chromium draw the page with its pictures (a screenshot that is not blank)?"""
    page = tmp_path / "page.html"
    page.write_text(masked[3], encoding="utf-8")
    assert_drawn(page, tmp_path, "text, heatmaps")


@pytest.mark.slow
def test_check_html_embeds_pictures_and_json_carries_none(tmp_path):
    """Does `attn-grade check --html` put the student's pictures on the page while `--json` stays SPEC §5's shape?"""
    notebook = make_submission(source_notebook("masked_attention"), tmp_path / "nb" / "masked_attention.ipynb",
                               replace={"answer_masked_self_attention": TRIU_MSA})
    page = tmp_path / "out" / "page.html"
    run = CliRunner().invoke(main, ["check", str(notebook), "--json", "--html", str(page), "--lang", "zh"])
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert set(data) == {"assignment", "notebook", "score", "max_score", "isolation", "duration_s", "questions",
                         "errors"}
    assert "base64" not in run.stdout
    text = page.read_text(encoding="utf-8")
    assert text.count('src="data:image/svg+xml;base64,') == 3  # causal_mask, masked_self_attention, padding_mask
    assert_self_contained(text)


# ---------------------------------------------------------------- bert_heads: entropy and the student's heatmap

@pytest.mark.slow
def test_bert_pictures_are_the_students_entropy_and_heatmap(tmp_path):
    """With entropy in bits and a transposed plot, are the drawn values the student's (bits, keys as rows)?"""
    notebook = make_submission(source_notebook("bert_heads"), tmp_path / "bert_heads.ipynb",
                               replace={"answer_head_entropy": ENTROPY_LOG2, "answer_plot_attention": PLOT_TRANSPOSED})
    evidence = Evidence()
    result = check(notebook, evidence=evidence, warm=True)
    assert "entropy-log2" in result.question("head_entropy").mistakes
    assert "plot-transposed" in result.question("plot_attention").mistakes
    tokens, attn = bert_key.get_attentions(*bert_key.load_model(), bert_key.TEXT)
    chosen = evidence.chosen()
    entropy, heatmap = chosen["head_entropy"], chosen["plot_attention"]
    assert entropy.kind == "entropy" and entropy.values.shape == attn.shape[:2]
    assert torch.allclose(entropy.values, bert_key.head_entropy(attn).double() / math.log(2), atol=1e-5)
    assert heatmap.kind == "heatmap" and heatmap.labels["xticklabels"] == tokens
    assert torch.allclose(heatmap.values, attn[3, 1].T.double(), atol=1e-6)
    for kept in (entropy, heatmap):
        assert draw(kept, "zh").startswith(b"<svg")


# ---------------------------------------------------------------- the batch's feedback pages

@pytest.mark.slow
def test_batch_pages_show_pictures_that_results_jsonl_never_holds(tmp_path_factory, tmp_path):
    """Do per-student pages embed the sdpa picture, results.jsonl hold no image, and a resumed run keep them?"""
    submitted, summary = graded_class(tmp_path_factory)
    ledger = (summary.out / "results.jsonl").read_text(encoding="utf-8")
    assert '"figures"' not in ledger and "PHN2Zy" not in ledger  # "PHN2Zy": a base64 "<svg"

    def pictures(out, student: str) -> int:
        page = (out / "feedback" / student / f"{ID}.html").read_text(encoding="utf-8")
        section = page.split('id="q-sdpa"')[1].split("</section>")[0]
        return section.count('src="data:image/svg+xml;base64,')

    assert pictures(summary.out, "01-right") == pictures(summary.out, "03-partial") == 1
    assert pictures(summary.out, "02-blank") == 0  # the stub returns nothing to draw
    again = grade(submitted, assignment=ID, out=shutil.copytree(summary.out, tmp_path / "out"), workers=1,
                  limits=LIMITS)
    assert (again.graded, again.reused) == (0, len(CLASS))
    assert pictures(again.out, "03-partial") == 1
