"""The package as the Python ecosystem sees it: names, version, license, the wheel."""
import builtins
import importlib.util
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import symcalc

ROOT = Path(__file__).resolve().parents[1]


def test_star_import_takes_every_public_name_but_sum():
    ns = {}
    exec("from symcalc import *", ns)  # noqa: S102 - the statement under test
    assert ns.get("sum", builtins.sum) is builtins.sum
    public = {n for n, v in vars(symcalc).items()
              if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    assert set(symcalc.__all__) == public - {"sum"}
    assert all(hasattr(symcalc, n) for n in symcalc.__all__)


def test_one_version_source_and_the_metadata():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" not in meta and "version" in meta["dynamic"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", symcalc.__version__)
    assert meta["name"] == "symcalc-matrix"  # "symcalc" on the package index is another project
    assert meta["license"] == "MIT" and (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT")
    assert any("latexify-py" in d and "python_version < '3.14'" in d for d in meta["dependencies"])
    out = subprocess.run([sys.executable, "-m", "symcalc", "--version"], capture_output=True, text=True)
    assert out.stdout.strip() == f"symcalc {symcalc.__version__}"


@pytest.mark.package
@pytest.mark.skipif(importlib.util.find_spec("build") is None and not os.environ.get("CI"),
                    reason="needs the build package (pip install build; CI has it)")
def test_the_wheel_installs_in_a_clean_environment_and_runs(tmp_path):
    """python -m build, a fresh virtual environment, pip install of the wheel alone; then the main
    job (the booklet, without TeX) and every example run from the installed package."""
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"),
                    str(ROOT)], check=True, capture_output=True, timeout=600)
    (wheel,) = (tmp_path / "dist").glob("symcalc_matrix-*.whl")
    assert wheel.name.startswith(f"symcalc_matrix-{symcalc.__version__}-")
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=300)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", str(wheel)], check=True, timeout=900)
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    work = tmp_path / "work"
    work.mkdir()
    version = subprocess.run([str(py), "-c", "import symcalc, importlib.metadata as m; "
                              "print(symcalc.__version__, m.version('symcalc-matrix'), symcalc.__file__)"],
                             capture_output=True, text=True, env=clean, cwd=work, check=True).stdout.split()
    assert version[0] == version[1] == symcalc.__version__ and str(env_dir) in version[2]
    notes = subprocess.run([str(env_dir / "bin" / "symcalc"), "notes", "--out", "notes", "--no-pdf"],
                           capture_output=True, text=True, env=clean, cwd=work, timeout=900)
    assert notes.returncode == 0, notes.stderr
    assert (work / "notes" / "symcalc-notes.html").is_file()
    for script in sorted((ROOT / "examples").glob("*.py")):
        r = subprocess.run([str(py), str(script)], capture_output=True, text=True, env=clean, cwd=work,
                           timeout=900)
        assert r.returncode == 0, f"{script.name}: {r.stderr[-2000:]}"


def _public_callables():
    import inspect

    import symcalc.nn as nn
    for module, names in ((symcalc, [*symcalc.__all__, "sum"]), (nn, nn.__all__)):
        for name in names:
            obj = getattr(module, name)
            if isinstance(obj, type):
                init = next((obj.__dict__[m] for m in ("__init__", "__new__") if m in obj.__dict__), None)
                if init is not None and not issubclass(obj, Exception):
                    yield f"{module.__name__}.{name}", init, False
            elif inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj, True


def test_public_signatures_are_annotated_without_any():
    """What mypy (CI) checks the package against: every parameter and result of the public API
    has a type, and none is Any."""
    import inspect
    missing, anys = [], []
    for label, fn, needs_return in _public_callables():
        sig = inspect.signature(fn)
        for p in sig.parameters.values():
            if p.name in ("self", "cls"):
                continue
            if p.annotation is inspect.Parameter.empty:
                missing.append(f"{label}({p.name})")
            elif re.search(r"\bAny\b", str(p.annotation)):
                anys.append(f"{label}({p.name}: {p.annotation})")
        if needs_return and sig.return_annotation is inspect.Signature.empty:
            missing.append(f"{label} -> ?")
        if re.search(r"\bAny\b", str(sig.return_annotation)):
            anys.append(f"{label} -> {sig.return_annotation}")
    assert not missing, missing
    assert not anys, anys
