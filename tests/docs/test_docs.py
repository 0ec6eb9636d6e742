"""The user guide cannot go stale.

- Every ```python block of docs/*.md runs, per page, in order, in one namespace (in a temporary
  directory); a ```text or ```latex block right after a python block is exactly what it prints.
  ```py blocks (notebook cells that import IPython, which symcalc does not depend on) run the same
  way when IPython is installed.
- Every ``$ symcalc ...`` line of a ```console block runs (through ``symcalc.cli.main``, and one
  as ``python -m symcalc`` in a subprocess); the lines after it, up to the next ``$`` line, are its
  output (stdout and stderr) — all of it, or its first lines when they end with a line ``...``; a
  trailing ``# exit status N`` comment is the expected status (0 otherwise). Console lines without
  ``$`` (pip, apt-get) are not run. Errors of 1e-6 and below compare as equal (``comparable``).
- Text between ``<!-- rendered -->`` and ``<!-- /rendered -->`` (Markdown output pasted so that the
  page renders it) is the output block shown just before it.
- docs/index.md links every page and every example; relative links and images resolve (images < 200 KB); the
  supported-operations page lists every rule of ``symcalc.diff.rules.RULES``; the API reference
  names every public name of ``symcalc`` and ``symcalc.nn``.

After a deliberate change of printed output, ``python tests/docs/refresh_outputs.py docs/*.md``
rewrites the shown outputs; review the diff.
"""
import contextlib
import importlib.util
import inspect
import io
import os
import re
import shlex
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
OUTPUT = ("text", "latex")
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
HAVE_IPYTHON = importlib.util.find_spec("IPython") is not None
RENDERED = re.compile(r"<!-- rendered -->\n(.*?)<!-- /rendered -->", re.S)
STATUS = re.compile(r"\s+#\s*exit status (\d+)\s*$")


def blocks(text):
    """[(language, code, adjacent, match)]: adjacent when only blank lines separate the block
    from the one before."""
    out, end = [], None
    for m in FENCE.finditer(text):
        adjacent = end is not None and text[end:m.start()].strip() == ""
        out.append((m.group(1), m.group(2), adjacent, m))
        end = m.end()
    return out


ROUNDING = re.compile(r"\b\d(?:\.\d+)?e-(\d+)\b")


def normal(s):
    return "\n".join(line.rstrip() for line in s.strip("\n").splitlines())


def comparable(s):
    """``normal``, with rounding noise (errors of 1e-6 and below, which differ with the BLAS and
    the order of floating-point sums) written as ``<1e-6``: a shown error that grows past 1e-6
    still fails."""
    return ROUNDING.sub(lambda m: "<1e-6" if int(m.group(1)) >= 6 else m.group(0), normal(s))


def run_python(code, namespace, label):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            exec(compile(code, label, "exec"), namespace)
        except Exception as exc:  # name the block in the failure
            raise AssertionError(f"{label} failed: {exc!r}") from exc
    return buffer.getvalue()


def console_commands(code):
    """[(command line, expected status, shown output lines)] of the ``$ symcalc`` lines."""
    commands, current = [], None
    for line in code.splitlines():
        if line.startswith("$ "):
            current = None
            if line[2:].startswith("symcalc "):
                m = STATUS.search(line)
                status = int(m.group(1)) if m else 0
                current = (STATUS.sub("", line[2:]), status, [])
                commands.append(current)
        elif current is not None:
            current[2].append(line)
    return commands


def run_symcalc(command, cwd, subprocess_=False):
    """(exit status, stdout + stderr) of a ``symcalc ...`` line: in this process through
    ``symcalc.cli.main`` (fast), or as ``python -m symcalc`` with ``subprocess_=True``."""
    args = shlex.split(command)[1:]
    if subprocess_:
        env = {**os.environ, "COLUMNS": "100"}
        run = subprocess.run([sys.executable, "-m", "symcalc", *args], cwd=cwd, capture_output=True,
                             text=True, timeout=120, env=env)
        return run.returncode, run.stdout + run.stderr
    from symcalc.cli import main
    buffer = io.StringIO()
    here, columns = Path.cwd(), os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps help text to the terminal's width
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            try:
                code = main(args)
            except SystemExit as stop:  # argparse: --help, usage errors
                code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
    finally:
        os.chdir(here)
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    return code, buffer.getvalue()


@pytest.mark.parametrize("page", [p for p in PAGES if any(b[0] in ("python", "py") for b in blocks(p.read_text()))],
                         ids=lambda p: p.name)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    namespace = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    output = None
    for number, (lang, code, adjacent, _) in enumerate(blocks(page.read_text()), start=1):
        if lang == "python" or (lang == "py" and HAVE_IPYTHON):
            output = run_python(code, namespace, f"{page.name}, python block {number}")
        elif lang in OUTPUT and adjacent and output is not None:
            assert comparable(output) == comparable(code), (
                f"{page.name}, block {number}: the output shown differs from what the code prints:\n"
                f"--- printed ---\n{output}\n--- shown ---\n{code}")
            output = None
        else:
            output = None


CONSOLE = [(p, c) for p in PAGES for lang, code, _, _ in blocks(p.read_text()) if lang == "console"
           for c in console_commands(code)]


@pytest.mark.parametrize("page, command", CONSOLE, ids=[f"{p.name}: {c[0][:60]}" for p, c in CONSOLE])
def test_console_commands_run(page, command, tmp_path):
    line, status, shown = command
    code, output = run_symcalc(line, tmp_path)
    assert code == status, f"{page.name}: `{line}` exited {code}, the page says {status}:\n{output}"
    shown = comparable("\n".join(shown))
    if shown.endswith("\n..."):
        shown = shown[: -len("\n...")]
        assert comparable(output).startswith(shown), f"{page.name}: `{line}` printed\n{output}"
    elif shown:
        assert comparable(output) == shown, f"{page.name}: `{line}` printed\n{output}"


def test_console_entry_point():
    """The documented commands also run as a user runs them: ``python -m symcalc`` in a process."""
    page, (line, status, shown) = next((p, c) for p, c in CONSOLE if "--claim" in c[0] and c[1] == 1)
    code, output = run_symcalc(line, ROOT, subprocess_=True)
    assert code == status and comparable(output).startswith(comparable("\n".join(shown[:1]))), output


def rendered_regions(text):
    """[(pasted text, the output block before it)] for each rendered region of a page."""
    out = []
    for m in RENDERED.finditer(text):
        before = [code for lang, code, _, b in blocks(text) if lang in OUTPUT and b.end() < m.start()]
        out.append((m.group(1), before[-1] if before else ""))
    return out


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_rendered_regions_match_their_output(page):
    for pasted, shown in rendered_regions(page.read_text()):
        assert normal(pasted) == normal(shown), f"{page.name}: a rendered region differs from the output above it"


def test_index_lists_every_example():
    index = (DOCS / "index.md").read_text()
    missing = [e.name for e in sorted((ROOT / "examples").glob("*.py")) if f"../examples/{e.name}" not in index]
    assert not missing, f"docs/index.md does not list the examples {missing}"


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


def plain_signature(obj):
    """A signature as the API reference writes it: names and defaults, no annotations."""
    parts, star = [], False
    for p in inspect.signature(obj).parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            parts.append("*" + p.name)
            star = True
            continue
        if p.kind == p.VAR_KEYWORD:
            parts.append("**" + p.name)
            continue
        if p.kind == p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        if p.default is p.empty:
            parts.append(p.name)
        elif type(p.default).__name__ == "_HAS_DEFAULT_FACTORY_CLASS":
            parts.append(f"{p.name}=...")
        else:
            parts.append(f"{p.name}={p.default!r}")
    return ", ".join(parts)


def test_api_reference_signatures_match_the_code():
    import symcalc
    import symcalc.nn
    text = (DOCS / "api.md").read_text()
    documented = re.findall(r"^- `(sc|nn)\.(\w+)\((.*?)\)`", text, re.M)
    assert len(documented) > 40
    for prefix, name, args in documented:
        obj = getattr(symcalc if prefix == "sc" else symcalc.nn, name)
        assert args == plain_signature(obj), f"api.md: {prefix}.{name}({args}) but the code has ({plain_signature(obj)})"
