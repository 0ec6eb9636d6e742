"""Refresh the outputs shown in the docs after a deliberate change of printed output.

Each ```text block that directly follows a ```python block is replaced by what that block prints
(blocks of a page run in order, in one namespace, in a temporary directory). Review the diff before
committing:

    python tests/docs/refresh_outputs.py docs/*.md && git diff docs/
"""
import contextlib, io, os, re, sys, tempfile
from pathlib import Path
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
for name in sys.argv[1:]:
    page = Path(name).resolve()
    text = page.read_text()
    ns = {"__name__": "docs"}
    cwd = os.getcwd(); os.chdir(tempfile.mkdtemp())
    out, end, pieces, last = None, None, [], 0
    for m in FENCE.finditer(text):
        adjacent = end is not None and text[end:m.start()].strip() == ""
        lang, code = m.group(1), m.group(2)
        if lang == "python":
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile(code, f"{page.name}", "exec"), ns)
            out = buf.getvalue()
        elif lang in ("text", "latex") and adjacent and out is not None:
            body = "\n".join(l.rstrip() for l in out.strip("\n").splitlines()) + "\n"
            pieces.append(text[last:m.start(2)]); pieces.append(body); last = m.end(2)
            out = None
        else:
            out = None
        end = m.end()
    pieces.append(text[last:])
    os.chdir(cwd)
    page.write_text("".join(pieces))
    print("filled", name)
