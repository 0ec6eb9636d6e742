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


def evaluate(expr, values, sizes):
    """``expr`` at ``values`` by SymPy arithmetic on explicit matrices of 30-digit floats, node by
    node from the leaves up (each node's own SymPy meaning; symcalc's nodes written out here)."""
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
    from sympy.matrices.expressions.matexpr import MatrixElement

    import symcalc.functions as F

    byname = {s.name if isinstance(s, sp.MatrixSymbol) else s: v for s, v in values.items()}
    memo = {}

    def size(s):
        return int(sp.sympify(s).xreplace(sizes))

    def ev(e):
        if e in memo:
            return memo[e]
        if isinstance(e, sp.MatrixSymbol):
            v = byname[e.name]
            out = sp.ImmutableMatrix(v.shape[0], v.shape[1],
                                     lambda i, j: sp.Float(v[i, j], 30))
        elif isinstance(e, sp.Symbol):
            out = sp.Float(byname[e], 30) if e in byname else sp.Integer(size(e))
        elif e.is_Atom:
            out = e
        elif isinstance(e, sp.Identity):
            out = sp.ImmutableMatrix(sp.eye(size(e.rows)))
        elif isinstance(e, sp.ZeroMatrix):
            out = sp.ImmutableMatrix(sp.zeros(size(e.rows), size(e.cols)))
        elif isinstance(e, sp.OneMatrix):
            out = sp.ImmutableMatrix(sp.ones(size(e.rows), size(e.cols)))
        elif isinstance(e, ElementwiseApplyFunction):
            lam = e.function
            out = ev(e.expr).applyfunc(lambda v: lam(v))
        elif isinstance(e, F.Softmax):
            Z = ev(e.args[0]).applyfunc(sp.exp)
            out = sp.ImmutableMatrix(Z.rows, Z.cols, lambda i, j: Z[i, j] / sum(Z[:, j]))
        elif isinstance(e, (F.EntrySum, F.EntryMean, F.LogSumExp, F.SquaredNorm,
                            F.FrobeniusSquared)):
            Z = ev(e.args[0])
            total = {F.EntrySum: sum(Z), F.EntryMean: sum(Z) / len(Z),
                     F.LogSumExp: sp.log(sum(Z.applyfunc(sp.exp))),
                     F.SquaredNorm: sum(Z.applyfunc(lambda v: v**2)),
                     F.FrobeniusSquared: sum(Z.applyfunc(lambda v: v**2))}[type(e)]
            out = sp.ImmutableMatrix([[total]])
        elif isinstance(e, sp.DiagMatrix):
            out = sp.ImmutableMatrix(sp.diag(*list(ev(e.args[0]))))
        elif isinstance(e, sp.HadamardProduct):
            mats = [ev(a) for a in e.args]
            out = mats[0]
            for M in mats[1:]:
                out = out.multiply_elementwise(M)
        elif isinstance(e, sp.HadamardPower):
            p = ev(e.exp)
            out = ev(e.base).applyfunc(lambda v: v**p)
        elif isinstance(e, MatrixElement):
            out = ev(e.parent)[int(e.i), int(e.j)]
        else:
            args = [ev(a) for a in e.args]
            if not getattr(e, "is_Matrix", False):  # a 1 x 1 matrix inside a scalar is its entry
                args = [a[0, 0] if isinstance(a, sp.MatrixBase) and a.shape == (1, 1)
                        and not isinstance(e, (sp.Trace, sp.Determinant)) else a for a in args]
            out = e.func(*args).doit()
            if getattr(out, "is_Matrix", False) and not isinstance(out, sp.MatrixBase):
                out = sp.ImmutableMatrix(out.as_explicit())
        memo[e] = out
        return out

    result = ev(sp.sympify(expr))
    if isinstance(result, sp.MatrixBase):
        return np.array([[complex(sp.N(result[i, j], 20)).real for j in range(result.cols)]
                         for i in range(result.rows)])
    return complex(sp.N(result, 20)).real
