"""Sphinx configuration: the user guide (docs/*.md, MyST Markdown) and the API reference
(docs/reference.md, autodoc from the docstrings and type hints). Build: ``pip install -e '.[docs]'``
then ``sphinx-build -b html docs build/docs`` (CI does)."""
import symcalc

project = "symcalc"
author = "symcalc developers"
copyright = "2026, symcalc developers (MIT license)"
release = version = symcalc.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "img/render.py"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.xref_missing"]  # links to ../examples/*.py point outside the site
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
html_theme = "alabaster"
html_static_path: list = []
# math: MathJax from the theme's default location unless told otherwise; the user guide reads
# as plain Markdown too (GitHub renders its $...$ math)
