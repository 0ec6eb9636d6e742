"""Course files: the example builds, errors name chapter and key, the default booklet is one."""
import shutil
from pathlib import Path

import pytest

from symcalc.course import DEFAULT_COURSE, CourseError, load, prose_latex, write

EXAMPLE = Path(__file__).parents[2] / "examples" / "course.toml"


def test_errors_name_the_chapter_the_key_and_what_works(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "t"\n[[chapter]]\ntitle = "Ridge"\nexpresion = "x.T*x"\n')
    with pytest.raises(CourseError, match=r"chapter 1 \('Ridge'\).*a chapter needs a model"):
        load(bad, check=False, progress=lambda s: None)
    bad.write_text('[[chapter]]\ntitle = "Net"\nnetwork = "linear(2,1)"\nloss = "bce"\nlayots = ["numerator"]\n')
    with pytest.raises(CourseError, match=r"key 'layots': unknown key \(did you mean 'layouts'\?\)"):
        load(bad, check=False, progress=lambda s: None)
    bad.write_text('[[chapter]]\ntitle = "LS"\nexpression = "x.T*x"\nshapes = { x = "n" }\nwrt = "y"\n')
    with pytest.raises(CourseError, match=r"key 'wrt': 'y' is not declared"):
        load(bad, check=False, progress=lambda s: None)


def test_markdown_prose_is_escaped_and_math_kept():
    tex = prose_latex("A **bold** $x_1^2$ with 50% and `a_b` & *more*", "markdown")
    assert r"\textbf{bold}" in tex and "$x_1^2$" in tex and r"50\%" in tex and r"\&" in tex
    assert r"\texttt{a\_b}" in tex and r"\emph{more}" in tex


def test_markdown_prose_math_is_allow_listed():
    """$...$ in Markdown prose is user LaTeX: a command that reads a file is set as text."""
    tex = prose_latex(r"safe $\frac{1}{2}\|r\|^2$, unsafe $\input{/etc/passwd}$", "markdown")
    assert r"$\frac{1}{2}\|r\|^2$" in tex
    assert r"\input{" not in tex and r"\textbackslash{}input\{/etc/passwd\}" in tex


def test_the_default_booklet_is_a_shipped_course_file():
    assert DEFAULT_COURSE.is_file()
    course = load(DEFAULT_COURSE, check=False, progress=lambda s: None)
    slugs = [c.slug for c in course.chapters]
    assert slugs[6] == "worked-1-2-3-1" and len(course.chapters) == 11
    assert slugs[7:] == ["layer-norm", "conv1d", "self-attention", "transformer-block"]


@pytest.mark.latex
def test_example_course_builds_to_a_pdf_without_overfull_boxes(tmp_path):
    if shutil.which("latexmk") is None:
        pytest.skip("latexmk is not installed")
    course = load(EXAMPLE, progress=lambda s: None)
    assert len(course.chapters) >= 6
    write(course, tmp_path, pdf=False, progress=lambda s: None)
    from symcalc.printing import compile_pdf
    pdf = compile_pdf(tmp_path / "backprop-course.tex")
    log = (tmp_path / "backprop-course.log").read_text()
    assert pdf.is_file() and "Overfull" not in log
    assert (tmp_path / "input" / "02-cmu-folded-biases-sigmoid-units-one-step.tex").is_file()
    md = (tmp_path / "markdown" / "06-cmu-recitation-5-a-relu-network-worked.md").read_text()
    assert r"\begin{bmatrix} 4 & 12 & 8 \end{bmatrix}" in md


def test_a_chain_of_equalities_is_a_chapter(tmp_path):
    """σ′ = σ(1 − σ) as an author writes it; a false line stops the booklet and names the chapter."""
    good = tmp_path / "good.toml"
    good.write_text('[[chapter]]\ntitle = "Sigma prime"\nequalities = ["d/db 1/(1 + exp(-b))", '
                    '"exp(-b)/(1 + exp(-b))**2  # chain rule", "s*(1 - s)  # s = sigma(b)"]\n'
                    'scalars = ["b"]\nlet = { s = "1/(1 + exp(-b))" }\n')
    chapter = load(good, progress=lambda s: None).chapters[0]
    assert "chain rule" in chapter.latex() and chapter.checks
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text().replace("s*(1 - s)", "s*(1 + s)"))
    with pytest.raises(CourseError, match=r"chapter 1 \('Sigma prime'\).*does not hold"):
        load(bad, progress=lambda s: None)


def test_a_model_chapter_builds_checks_and_names_its_errors(tmp_path):
    """A chapter of modules: derivations in both layouts, each step and each gradient checked."""
    f = tmp_path / "m.toml"
    f.write_text('[[chapter]]\ntitle = "Attn"\nmodel = "attention(d,k,causal) layer_norm(d, 0.1) linear(d,1)"\n'
                 'input = "d"\nsamples = "n"\nloss = "squared_error"\nlayouts = ["denominator", "numerator"]\n')
    (chapter,) = load(f, progress=lambda s: None).chapters
    assert [d.layout for d in chapter.derivations] == ["denominator", "numerator"]
    assert any("gradients agree with central differences" in c for c in chapter.checks)
    f.write_text('[[chapter]]\ntitle = "Bad"\nmodel = "attention(d,k,casual)"\ninput = "d"\nloss = "mse"\n')
    with pytest.raises(CourseError, match=r"key 'model'.*attention"):
        load(f, check=False, progress=lambda s: None)
    f.write_text('[[chapter]]\ntitle = "Bad"\nmodel = "linear(d,1)"\nloss = "mse"\n')
    with pytest.raises(CourseError, match=r"key 'input'.*tokens"):
        load(f, check=False, progress=lambda s: None)
