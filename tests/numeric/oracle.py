"""An independent oracle for the numeric tests: SymPy's own explicit evaluation."""
import numpy as np
import sympy as sp


def explicit_value(expr, values, sizes):
    """``expr`` at ``values`` ({symbol: array or float}) computed entry by entry by SymPy.

    Sizes are substituted, every matrix symbol is replaced by its explicit matrix of entries, the
    expression is expanded (``as_explicit``, ``doit``), then each entry X[i, j] is replaced by its
    number. This never touches symcalc's printer.
    """
    reps = {}
    for s, v in values.items():
        if isinstance(s, sp.MatrixSymbol):
            sc = type(s)(s.name, *[sp.sympify(t).xreplace(sizes) for t in s.shape])
            for i in range(v.shape[0]):
                for j in range(v.shape[1]):
                    reps[sc[i, j]] = sp.Float(v[i, j], 30)
        else:
            reps[s] = sp.Float(v, 30)
    e = sp.sympify(expr)
    if sizes:  # xreplace, not subs: SymPy 1.14's subs misses sizes inside index sums
        e = e.xreplace({m: type(m)(m.name, *[sp.sympify(s).xreplace(sizes) for s in m.shape])
                        for m in e.atoms(sp.MatrixSymbol)}).xreplace(sizes)
    explicit = {m: m.as_explicit() for m in e.atoms(sp.MatrixSymbol)}

    def number(x):
        x = sp.sympify(x).xreplace(explicit).doit()
        return complex(sp.N(x.xreplace(reps).doit(), 20)).real

    numeric = {sc: sp.ImmutableMatrix(sp.Matrix(v.shape[0], v.shape[1],
                                                 lambda i, j: sp.Float(v[i, j], 30)))
               for s, v in values.items() if isinstance(s, sp.MatrixSymbol)
               for sc in [type(s)(s.name, *[sp.sympify(t).xreplace(sizes) for t in s.shape])]}
    if getattr(e, "is_Matrix", False) and not isinstance(e, sp.MatrixBase):
        try:  # numbers first: fast for inverses and determinants
            M = e.xreplace(numeric).xreplace(reps).doit().as_explicit()
            return np.array([[number(M[i, j]) for j in range(M.cols)] for i in range(M.rows)])
        except (AttributeError, TypeError, ValueError):
            pass  # symcalc's own nodes expand only over matrix symbols
    if isinstance(e, sp.NDimArray):
        flat = [number(x) for x in sp.flatten(e.tolist())]
        return np.array(flat).reshape(e.shape)
    if getattr(e, "is_Matrix", False):
        M = e if isinstance(e, sp.MatrixBase) else e.as_explicit()
        return np.array([[number(M[i, j]) for j in range(M.cols)] for i in range(M.rows)])
    return number(e)
