"""Rewrite the outputs shown in the docs after a deliberate change of printed output.

Each ```text/```latex block right after a ```python block becomes what that block prints (the
blocks of a page run in order, in one namespace, in a temporary directory); each ``$ symcalc``
line of a ```console block gets its output (kept to its first lines when the shown output ends
with ``...``); each ``<!-- rendered -->`` region gets the output block before it. Review the diff before committing:

    python tests/docs/refresh_outputs.py docs/*.md && git diff docs/
"""
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

spec = importlib.util.spec_from_file_location("test_docs", Path(__file__).with_name("test_docs.py"))
T = importlib.util.module_from_spec(spec)
spec.loader.exec_module(T)


def console(code, cwd):
    lines, out, skipping = code.splitlines(), [], False
    commands = {c[0]: c for c in T.console_commands(code)}
    for line in lines:
        if line.startswith("$ "):
            skipping = False
            out.append(line)
            key = T.STATUS.sub("", line[2:])
            if key in commands:
                _, _, shown = commands[key]
                _, printed = T.run_symcalc(key, cwd)
                printed = T.normal(printed).splitlines()
                if shown and shown[-1].strip() == "...":
                    printed = printed[: len(shown) - 1] + ["..."]
                out += printed
                skipping = True
        elif not skipping:
            out.append(line)
    return "\n".join(out) + "\n"


def refresh(page):
    text = page.read_text()
    namespace, output, pieces, last = {"__name__": "docs"}, None, [], 0
    cwd = tempfile.mkdtemp()
    here = os.getcwd()
    os.chdir(cwd)
    try:
        for lang, code, adjacent, m in T.blocks(text):
            new = None
            if lang in ("python", "py"):
                output = T.run_python(code, namespace, page.name)
                continue
            if lang in T.OUTPUT and adjacent and output is not None:
                new = T.normal(output) + "\n"
            elif lang == "console" and T.console_commands(code):
                new = console(code, cwd)
            output = None
            if new is not None:
                pieces += [text[last:m.start(2)], new]
                last = m.end(2)
    finally:
        os.chdir(here)
    pieces.append(text[last:])
    text = "".join(pieces)
    for pasted, shown in reversed(T.rendered_regions(text)):
        m = next(m for m in T.RENDERED.finditer(text) if m.group(1) == pasted)
        text = text[:m.start(1)] + T.normal(shown) + "\n" + text[m.end(1):]
    page.write_text(text)
    print("refreshed", page)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        refresh(Path(name).resolve())
