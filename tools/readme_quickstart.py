"""Run every ```python block of a Markdown file in order, so that README's quick start cannot go stale."""
import re
import sys
from pathlib import Path

text = Path(sys.argv[1]).read_text(encoding="utf-8")
blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
if not blocks:
    sys.exit(f"no python blocks in {sys.argv[1]}")
namespace: dict = {}
for i, block in enumerate(blocks, 1):
    exec(compile(block, f"{sys.argv[1]}:block{i}", "exec"), namespace)  # our own README, not user text
print(f"ran {len(blocks)} python block(s) from {sys.argv[1]}")
