"""The user guide cannot go stale: every ```python block of docs/*.md runs, per file, in order,
in one namespace; a ```text (or ```latex) block right after a python block is that block's exact
output.

Also: docs/index.md links every page, relative links and images resolve (images < 200 KB), the
supported-operations page lists every rule of ``symcalc.diff.rules.RULES``, and the API reference
names every public name of ``symcalc`` and ``symcalc.nn``.
"""
import contextlib
import io
import re
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
OUTPUT = ("text", "latex")  # an output block right after a python block shows what it prints
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)


def blocks(page):
    """[(language, code, follows_previous)]: follows_previous when only blank lines separate it
    from the block before."""
    text = page.read_text()
    out, end = [], None
    for m in FENCE.finditer(text):
        adjacent = end is not None and text[end:m.start()].strip() == ""
        out.append((m.group(1), m.group(2), adjacent))
        end = m.end()
    return out


def normal(s):
    return "\n".join(line.rstrip() for line in s.strip("\n").splitlines())


@pytest.mark.parametrize("page", [p for p in PAGES if any(b[0] == "python" for b in blocks(p))],
                         ids=lambda p: p.name)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    namespace = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    output = None
    for number, (lang, code, adjacent) in enumerate(blocks(page), start=1):
        if lang == "python":
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                try:
                    exec(compile(code, f"{page.name}[block {number}]", "exec"), namespace)
                except Exception as exc:  # name the block in the failure
                    raise AssertionError(f"{page.name}, python block {number} failed: {exc!r}") from exc
            output = buffer.getvalue()
        elif lang in OUTPUT and adjacent and output is not None:
            assert normal(output) == normal(code), (
                f"{page.name}, block {number}: the output shown differs from what the code prints:\n"
                f"--- printed ---\n{output}\n--- shown ---\n{code}")
            output = None
        else:
            output = None


def test_index_links_every_page():
    index = (DOCS / "index.md").read_text()
    linked = set(re.findall(r"\]\(([\w.-]+\.md)(?:#[\w-]*)?\)", index))
    missing = [p.name for p in PAGES if p.name != "index.md" and p.name not in linked]
    assert not missing, f"docs/index.md does not link {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_and_images_resolve(page):
    text = FENCE.sub("", page.read_text())
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{page.name} links {target}, which does not exist"
        if path.suffix in {".png", ".jpg", ".svg"}:
            assert path.stat().st_size < 200_000, f"{target} is {path.stat().st_size} bytes (limit 200 KB)"


def test_operations_page_lists_every_rule():
    from symcalc.diff.rules import RULES
    text = (DOCS / "operations.md").read_text()
    missing = [cls.__name__ for cls in RULES if f"`{cls.__name__}`" not in text]
    assert not missing, f"docs/operations.md does not list the rules for {missing}"


def public_names():
    import symcalc
    import symcalc.nn
    names = {n for n, v in vars(symcalc).items()
             if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    names |= {f"nn.{n}" for n in symcalc.nn.__all__}
    return sorted(names)


def test_api_reference_names_every_public_name():
    text = (DOCS / "api.md").read_text()
    missing = [n for n in public_names() if f"`{n}" not in text and f"`sc.{n}" not in text]
    assert not missing, f"docs/api.md does not document {missing}"
