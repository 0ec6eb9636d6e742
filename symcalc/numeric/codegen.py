"""NumPy source code for symcalc results: readable, shared sub-expressions named once, inputs checked.

``codegen(exprs, args)`` returns the text of a module with one function of ``args`` that returns
the values of ``exprs``. The generated module imports only NumPy.

Conventions of the generated function
-------------------------------------
* A matrix expression evaluates to a 2-D ``numpy.ndarray``; a 1 x 1 matrix expression (a loss
  written as ``r.T*r`` or ``sum(...)``) to an array of shape (1, 1). A scalar SymPy expression
  (``Trace(X)``, ``log(det(X))``, ``M[0, 0]``) evaluates to a Python ``float``. An N-dimensional
  SymPy array (a matrix-by-matrix derivative) evaluates to an N-dimensional array.
* Every matrix argument must be a 2-D array of its declared shape. Integer sizes must match;
  a symbolic size is bound by the first argument that has it and must agree across arguments
  (``n`` from ``X`` and from ``y``). A 1-D array is refused, not broadcast: a vector ``y`` of
  shape (n,) against a column of shape (n, 1) would silently become an n x n matrix.
* An argument declared ``SymmetricMatrix`` must be symmetric and one declared ``OneHot`` must have
  columns summing to 1 (results are simplified with Sᵀ = S and 1ᵀy = 1); else ValueError.
* ``log(det(A))`` is computed with ``slogdet`` (the log of the absolute value of the determinant,
  whose gradient A^{-T} holds for either sign).

How products are computed: A⁻¹B (an inverse used once) is ``solve(A, B)``; diag(v) in a product is
a broadcast (Xᵀ diag(s) X never builds an n x n matrix, and when s ≥ 0 is proved it is the
symmetric product Bᵀ B, B = √s ⊙ X); chains of three or more use ``multi_dot`` (which picks the
cheapest order); b 1ᵀ in a sum is a broadcast of b; A 1 and 1ᵀ A are row and column sums. In a
product with Kronecker or commutation factors (a vec Hessian), each factor acts on the matrix so
far: (A ⊗ B) M by reshapes and batched products, K M by a reshape and a transpose, a sum term by
term; the explicit commutation matrix and vec(A) column that the vec-form derivatives write out are
read back as ``Commutation`` and ``Vec`` nodes, never printed as literals.

Common sub-expressions are found on the matrix-expression DAG (``sympy.cse`` cannot look inside
elementwise functions). An elementwise function's body is split into its scalar sub-terms, each an
elementwise application to the same argument, so that the forward σ(z) and the σ(z)(1 − σ(z)) of a
gradient share one ``numpy.exp`` pass.
"""
from __future__ import annotations

import ast
import keyword
import unicodedata
from collections import Counter

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter
from sympy.tensor.array import NDimArray

from typing import Sequence

from .. import dag, limits
from ..convolution import Shift
from ..diff.indices import sum_to_matrix
from ..hints import Arguments, Expr
from ..errors import SymcalcError, UnsupportedError
from ..shapes import check as check_shapes
from ..functions import (
    ELEMENT, SCALAR_FUNCTIONS, OneHot, Sigmoid, Softmax, SymmetricMatrix, as_expression,
    canonical_elementwise, elementwise,
)
from ..functions import CausalSoftmax, LayerNorm
from ..functions import InternalMatrix

__all__ = ["codegen", "function_source", "NumericPrinter", "HELPERS", "validate_name", "describe"]

EAF = ElementwiseApplyFunction

#: Sub-expressions nested this deep in one line are named (Python's parser allows 200 parentheses).
MAX_NESTING = 24

#: Names the generated code uses itself; an argument with one of them gets a trailing underscore.
RESERVED = frozenset({"numpy", "ShapeError", "_matrix", "float", "int"})

#: Module-level helper of the generated code (it needs a ``ShapeError`` in its namespace).
HELPERS = '''\
def _matrix(value, name, shape, kind):
    """``value`` as a 2-D float array; anything else is refused (a 1-D array would broadcast)."""
    a = numpy.asarray(value, dtype=float)
    if a.ndim != 2:
        hint = ""
        if a.ndim == 1 and kind == "column":
            hint = f"; a column is expected: pass {name}.reshape(-1, 1)"
        elif a.ndim == 1 and kind == "row":
            hint = f"; a row is expected: pass {name}.reshape(1, -1)"
        raise ShapeError(f"argument {name} must be a 2-D array of shape {shape}, "
                         f"got an array of shape {a.shape}{hint}")
    return a
'''

SHAPE_ERROR_CLASS = '''\
class ShapeError(ValueError):
    """An argument array whose shape does not match its declaration."""
'''


# --------------------------------------------------------------------------- names

def validate_name(name: str, what: str = "symbol") -> str:
    """The Python name for a symbol: its own name when that is a plain identifier, with a trailing
    underscore when it is a keyword or a name the generated code uses (``lambda`` -> ``lambda_``);
    anything else is refused, because it could change the meaning of the generated code."""
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("__"):
        raise SymcalcError(
            f"{what} name {name!r} is not a Python identifier; code generation needs plain names "
            "such as 'W1' or 'theta' (a name like 'A^{(1)}' can silently change the computed "
            "product, SymPy issue 20883). Keep the name plain and set its LaTeX form in the notation.")
    if keyword.iskeyword(name) or name in RESERVED:
        return name + "_"
    return name


def _is_matrix(e) -> bool:
    return getattr(e, "is_Matrix", False)


def _is_tight(code: str) -> bool:
    """True when ``code`` can be an operand without parentheses."""
    try:
        node = ast.parse(code, mode="eval").body
    except SyntaxError:  # pragma: no cover - our printers always produce Python
        return False
    if isinstance(node, ast.Constant):
        return not (isinstance(node.value, (int, float)) and node.value < 0)
    return isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript))


def _wrap(code: str) -> str:
    return code if _is_tight(code) else f"({code})"


def _tidy(code: str) -> str:
    """Minimal parentheses and uniform spacing, by a round trip through the syntax tree."""
    return ast.unparse(ast.parse(code, mode="eval"))


# --------------------------------------------------------------------------- the DAG

class Vec(sp.MatrixExpr):
    """vec(A), the columns of A stacked: the vec-form derivatives write it out as a column of A's
    entries, which the generated code computes as one reshape (``_structured``)."""

    @property
    def shape(self):
        return (self.args[0].rows * self.args[0].cols, sp.S.One)

    def _entry(self, i, j, **kwargs):
        return self.args[0][i % self.args[0].rows, i // self.args[0].rows]


class Commutation(sp.MatrixExpr):
    """K_rc with K vec(A) = vec(Aᵀ) for A r x c: written out as a 0/1 matrix by the vec-form
    derivatives, applied in the generated code as a reshape and a transpose, never built."""

    @property
    def shape(self):
        return (self.args[0] * self.args[1],) * 2

    def _entry(self, i, j, **kwargs):
        r, c = self.args
        return sp.S.One if i == j // r + (j % r) * c else sp.S.Zero


def _structured(M, memo):
    """Commutation(r, c), Vec(A) or diag(vec A) for an explicit matrix that is one (its entries
    read once), else None."""
    N = M.rows
    if M.cols == 1:
        A = _vec_parent(M)
        return None if A is None else Vec(_canonical(A, memo))
    if M.cols != N or N < 4:
        return None
    entries = M.todok()
    if all(a == b for (a, b) in entries) and len(entries) == N:  # diag(vec A) (a transposed Hessian)
        A = _vec_parent(sp.ImmutableMatrix([M[k, k] for k in range(N)]))
        return None if A is None else sp.DiagMatrix(Vec(_canonical(A, memo)))
    if len(entries) != N or any(x != 1 for x in entries.values()) or M[0, 0] != 1:
        return None
    c = next((a for (a, b) in entries if b == 1), None)
    if c is None or c < 2 or N % c:
        return None
    r = N // c
    if all(a == b // r + (b % r) * c for (a, b) in entries):
        return Commutation(sp.Integer(r), sp.Integer(c))
    return None


def _vec_parent(col):
    """A where the explicit column ``col`` is vec(A): its k-th entry is one scalar function of
    entries (k mod r, k div r) of r x c matrices, or (k div c, k mod c) for vec(Aᵀ) (textbook merges c₁ diag(vec A₁) + c₂ diag(vec A₂)
    into one column), A that function applied entrywise; else None."""
    N, first = col.rows, col[0]
    if N < 2 or not isinstance(first, sp.Basic):
        return None
    elements, stack = set(), [first]
    while stack:  # the scalar entry only, never into the matrices (a network's DAG)
        e = stack.pop()
        if isinstance(e, MatrixElement):
            elements.add(e)
        elif isinstance(e, sp.Basic):
            stack.extend(e.args)
    if not elements or any(e.i != 0 or e.j != 0 for e in elements):
        return None
    shapes = {tuple(e.parent.shape) for e in elements}
    r, c = shapes.pop()
    if shapes or r * c != N:
        return None
    for order in ("F", "C"):  # vec(A), or vec(Aᵀ) (the rows of A stacked)
        at = (lambda k: (k % r, k // r)) if order == "F" else (lambda k: (k // c, k % c))
        if all(col[k] == first.xreplace({e: MatrixElement(e.parent, *at(k)) for e in elements})
               for k in range(1, N)):
            A = _entrywise_matrix(first, (r, c))
            return A if order == "F" or A is None else sp.Transpose(A)
    return None


def _entrywise_matrix(t, shape):
    """The matrix whose every entry is the scalar t with each A[0, 0] in it read as A's entry:
    sums, numbers times, products (Hadamard) and numeric powers; else None."""
    if isinstance(t, MatrixElement):
        return t.parent
    if t.is_Number:
        return sp.MatMul(t, sp.OneMatrix(*shape)) if t != 1 else sp.OneMatrix(*shape)
    if isinstance(t, (sp.Add, sp.Mul)):
        number = sp.Mul(*[a for a in t.args if a.is_Number]) if isinstance(t, sp.Mul) else 1
        parts = [_entrywise_matrix(a, shape) for a in t.args if not (isinstance(t, sp.Mul) and a.is_Number)]
        if any(p is None for p in parts):
            return None
        if isinstance(t, sp.Add):
            return sp.MatAdd(*parts)
        core = parts[0] if len(parts) == 1 else sp.HadamardProduct(*parts)
        return core if number == 1 else sp.MatMul(number, core)
    if isinstance(t, sp.Pow) and t.exp.is_Number:
        base = _entrywise_matrix(t.base, shape)
        return None if base is None else sp.HadamardPower(base, t.exp)
    return None


def _canonical(expr, memo):
    """``expr`` with explicit matrices immutable and every elementwise function over ELEMENT; an
    explicit commutation matrix or vec(A) becomes a ``Commutation`` or ``Vec`` node."""
    if expr in memo:
        return memo[expr]
    if isinstance(expr, sp.MatrixBase):
        out = _structured(expr, memo)
        if out is None:
            out = sp.ImmutableMatrix(expr.rows, expr.cols, [_canonical(x, memo) for x in expr])
    elif isinstance(expr, NDimArray):
        out = sp.ImmutableDenseNDimArray([_canonical(x, memo) for x in sp.flatten(expr.tolist())],
                                         expr.shape)
    elif isinstance(expr, sp.Sum):  # SymPy writes (X w)[1, 0] as an index sum; inner sums first:
        inner = sp.Sum(_canonical(expr.function, memo), *expr.limits)  # ((Wx − y)ᵀ(Wx − y))[0, 0]
        out = _canonical(sum_to_matrix(inner), memo)
    elif isinstance(expr, EAF):
        inner = _canonical(expr.expr, memo)
        out = canonical_elementwise(EAF(expr.function, inner))
        if out.function.expr == ELEMENT:
            out = inner
    elif not isinstance(expr, sp.Basic) or expr.is_Atom or isinstance(expr, sp.MatrixSymbol):
        out = expr
    else:
        args = [_canonical(a, memo) for a in expr.args]
        if isinstance(expr, (sp.Function, sp.Add, sp.Mul, sp.Pow)) and not _is_matrix(expr):
            # a 1 x 1 matrix used as a scalar (exp(xᵀx)) is its only entry
            args = [MatrixElement(a, 0, 0) if _is_matrix(a) and tuple(a.shape) == (1, 1) else a
                    for a in args]
        if isinstance(expr, sp.MatAdd):  # one order of terms: equal sums are one node, computed once
            if all(isinstance(a, sp.Transpose) for a in args):  # aᵀ + bᵀ = (a + b)ᵀ: δ (x + t)ᵀ
                out = sp.Transpose(dag.node(sp.MatAdd, *sorted((a.arg for a in args), key=dag.sort_key)))
            else:
                out = dag.node(sp.MatAdd, *sorted(args, key=dag.sort_key))
        else:
            out = expr if all(a is b for a, b in zip(args, expr.args)) else expr.func(*args)
    memo[expr] = out
    return out


def _sub_application(term, Z):
    """The elementwise application of the scalar sub-term ``term`` (in ELEMENT) to ``Z``."""
    if term == ELEMENT:
        return Z
    return elementwise(term, Z)


def _negated(term) -> bool:
    """-t: printed as a minus sign in front of t, never as a variable of its own."""
    return isinstance(term, sp.Mul) and term.args[0].is_Number and term.args[0] < 0


def _body_children(term, Z):
    kids = []
    for a in term.args:
        if ELEMENT not in a.free_symbols:
            kids.append(a)
        elif _negated(a):
            kids.extend(_body_children(a, Z))
        else:
            kids.append(_sub_application(a, Z))
    return kids


def _children(e):
    if isinstance(e, EAF):
        U = _stable_log(e)
        if U is not None:  # printed from U: log softmax(U), −log(1 + e^{∓U})
            return [U]
        return [e.expr] + _body_children(e.function.expr, e.expr)
    if isinstance(e, sp.MatrixBase):
        return list(e)
    if isinstance(e, NDimArray):
        return sp.flatten(e.tolist())
    if isinstance(e, (sp.MatrixSymbol, sp.Identity, sp.ZeroMatrix, sp.OneMatrix)):
        return []
    if isinstance(e, sp.Basic):
        return [a for a in e.args if isinstance(a, sp.Basic)]
    return []


def _trivial(e) -> bool:
    """Cheap to recompute: never worth a name."""
    if not isinstance(e, sp.Basic) or e.is_Atom or isinstance(e, (sp.MatrixSymbol, sp.Identity,
                                                                   sp.ZeroMatrix, sp.OneMatrix)):
        return True
    if isinstance(e, sp.Transpose):
        return _trivial(e.arg)
    if isinstance(e, (sp.DiagMatrix, Commutation, sp.KroneckerProduct)):  # printed inline; a product applies it
        return True
    if isinstance(e, Shift):  # a constant a product reads as a slice
        return True
    if isinstance(e, sp.Mul) and len(e.args) == 2 and e.args[0] == -1 and e.args[1].is_Atom:
        return True
    return False


def _analyse(roots):
    """Reference counts and a children-first order of the DAG under ``roots``."""
    counts, order, seen = Counter(), [], set()

    def visit(e):
        counts[e] += 1
        if e in seen:
            return
        seen.add(e)
        for c in _children(e):
            visit(c)
        order.append(e)

    for r in roots:
        visit(r)
    return counts, order


# --------------------------------------------------------------------------- the printer

class NumericPrinter(NumPyPrinter):
    """NumPy code for symcalc's matrix expressions; ``names`` maps shared nodes to variables."""

    printmethod = "_numpycode_symcalc"  # do not let classes print themselves SymPy's way

    def __init__(self, names=None, bound=None, emit=None, fresh=None):
        super().__init__({"fully_qualified_modules": True, "inline": True,
                          "allow_unknown_functions": False, "strict": True})
        self.names = names if names is not None else {}
        self.bound = bound if bound is not None else {}
        self._emit = emit          # emit(statement): add a line before the current one
        self._fresh = fresh        # fresh(hint) -> an unused variable name
        self._element = None       # (Z, code of Z) while printing an elementwise body
        self._kron_memo = {}       # node (, "applied") -> _kronecker(node) (, _applied(node))
        self._body_root = None

    # ---- dispatch: names first, then elementwise sub-terms
    def _print(self, expr, **kwargs):
        if isinstance(expr, sp.Basic):
            name = self.names.get(expr)
            if name is not None:
                return name
            ctx = self._element
            if ctx is not None and not _is_matrix(expr) and ELEMENT in expr.free_symbols:
                if expr == ELEMENT:
                    return _wrap(ctx[1])
                if expr is self._body_root or _negated(expr):
                    self._body_root = None
                    return super()._print(expr, **kwargs)
                return _wrap(self._print(_sub_application(expr, ctx[0])))
        return super()._print(expr, **kwargs)

    def operand(self, expr) -> str:
        return _wrap(self._print(expr))

    def bind(self, code: str, hint: str) -> str:
        """A variable holding ``code`` (for printers that need a value more than once)."""
        if _is_tight(code) and code.isidentifier():
            return code
        if self._emit is None:
            raise UnsupportedError("this node needs a statement context (use codegen or lambdify)")
        name = self._fresh(hint)
        self._emit(f"{name} = {_tidy(code)}")
        return name

    # ---- symbols and sizes
    def _print_Symbol(self, expr):
        if expr in self.bound:
            return self.bound[expr]
        if expr == ELEMENT:
            raise UnsupportedError("an elementwise variable outside its function body")
        raise SymcalcError(
            f"the symbol {expr} is neither an argument nor a size that the argument shapes "
            f"determine; add it to the arguments")

    _print_Dummy = _print_Symbol

    def _print_MatrixSymbol(self, expr):
        if expr in self.bound:
            return self.bound[expr]
        raise SymcalcError(
            f"the matrix {expr} ({expr.shape[0]} x {expr.shape[1]}) is not among the arguments; "
            "add it to the arguments")

    def _size(self, s) -> str:
        return self._print(sp.sympify(s))

    def _print_Identity(self, expr):
        return f"numpy.eye({self._size(expr.rows)})"

    def _print_ZeroMatrix(self, expr):
        return f"numpy.zeros(({self._size(expr.rows)}, {self._size(expr.cols)}))"

    def _print_OneMatrix(self, expr):
        return f"numpy.ones(({self._size(expr.rows)}, {self._size(expr.cols)}))"

    # ---- products and sums
    def _print_MatMul(self, expr):
        coeff, factors = expr.as_coeff_matrices()
        chain = self._chain(list(factors))
        if coeff == 1:
            return chain
        if coeff == -1:
            return f"-{_wrap(chain)}"
        return f"{self.operand(coeff)} * {_wrap(chain)}"

    def _chain(self, factors) -> str:
        """A product of matrices: ``solve`` for an inverse on the left, broadcasts for diagonals."""
        if len(factors) > 1:
            factors = [f for f in factors if not isinstance(f, sp.Identity)] or factors[:1]
        if len(factors) == 1:
            return self._print(factors[0])
        factors = [_diag_reciprocal(f) for f in factors]  # diag(s)⁻¹ = diag(1 ⊘ s): a broadcast, no solve
        if any(self._kronecker(f) for f in factors):
            return self._applied_chain(factors)
        for i, f in enumerate(factors[:-1]):
            a = self._inverted(f)
            if a is not None:
                rhs = f"numpy.linalg.solve({self._print(a)}, {self._chain(factors[i + 1:])})"
                return rhs if i == 0 else f"{_wrap(self._chain(factors[:i]))} @ {rhs}"
        for i, f in enumerate(factors):
            if _shift_of(f)[0] is not None:
                return self._shift_chain(factors, i)
            if isinstance(f, sp.MatAdd) and any(_shift_term(t) for t in f.args):
                return self._shift_sum(factors, i)
        if (len(factors) == 3 and isinstance(factors[1], sp.DiagMatrix)
                and factors[0] == sp.Transpose(factors[2]).doit()
                and _provably_nonnegative(factors[1].args[0])):
            # Mᵀ diag(s) M with s ≥ 0 is Bᵀ B for B = √s ⊙ M: a symmetric product (BLAS syrk)
            col, _ = self._diagonal(factors[1].args[0])
            b = self.bind(f"numpy.sqrt({col}) * {self.operand(factors[2])}", "b")
            return f"{b}.T @ {b}"
        for i, f in enumerate(factors):
            if isinstance(f, sp.DiagMatrix):
                col, row = self._diagonal(f.args[0])
                if i == len(factors) - 1:
                    return f"{_wrap(self._chain(factors[:i]))} * {row}"
                scaled = f"{col} * {_wrap(self._chain(factors[i + 1:]))}"
                return scaled if i == 0 else f"{_wrap(self._chain(factors[:i]))} @ ({scaled})"
        last, first = factors[-1], factors[0]
        if isinstance(last, sp.OneMatrix) and last.cols == 1:  # A 1 = row sums of A
            return f"numpy.sum({self._chain(factors[:-1])}, axis=1, keepdims=True)"
        if isinstance(first, sp.OneMatrix) and first.rows == 1:  # 1ᵀ A = column sums of A
            return f"numpy.sum({self._chain(factors[1:])}, axis=0, keepdims=True)"
        if isinstance(first, sp.OneMatrix):  # 1 1ᵀ A: column sums, repeated (not a k x k product)
            rest = factors[1:]
            shape = f"({self._size(first.rows)}, {self._size(rest[-1].cols)})"
            return f"numpy.broadcast_to(numpy.sum({self._chain(rest)}, axis=0, keepdims=True), {shape})"
        if isinstance(last, sp.OneMatrix):  # A 1 1ᵀ: row sums, repeated
            rest = factors[:-1]
            shape = f"({self._size(rest[0].rows)}, {self._size(last.cols)})"
            return f"numpy.broadcast_to(numpy.sum({self._chain(rest)}, axis=1, keepdims=True), {shape})"
        ops = [self.operand(f) for f in factors]
        if len(ops) == 2:
            return f"{ops[0]} @ {ops[1]}"
        return f"numpy.linalg.multi_dot([{', '.join(ops)}])"

    # ---- shift matrices of a convolution (symcalc.convolution): slices, never a T x T matrix
    def _shift_chain(self, factors, i) -> str:
        """A product with the shift matrix S = ``factors[i]`` (or Sᵀ): S B and A Sᵀ = (S Aᵀ)ᵀ are
        strided slices of the zero-padded B (Aᵀ), Sᵀ B and A S = (Sᵀ Aᵀ)ᵀ strided scatters."""
        S, transposed = _shift_of(factors[i])
        left, right = factors[:i], factors[i + 1:]
        if right and (not transposed or not left):  # S B, Sᵀ B: B the next factor (or the rest)
            near, rest = (right[:1], right[1:]) if _shift_of(right[0])[0] is None else (right, [])
            code = (self._scatter if transposed else self._gather)(S, self.operand(sp.MatMul(*near))
                                                                  if len(near) > 1 else self.operand(near[0]))
            code = f"{_wrap(code)} @ {_wrap(self._chain(rest))}" if rest else code
            return f"{_wrap(self._chain(left))} @ {_wrap(code)}" if left else code
        near, rest = left[-1], left[:-1]  # A Sᵀ = (S Aᵀ)ᵀ, A S = (Sᵀ Aᵀ)ᵀ
        near_t = self.operand(near.arg) if isinstance(near, sp.Transpose) else f"{self.operand(near)}.T"
        code = f"{_wrap((self._gather if transposed else self._scatter)(S, near_t))}.T"
        code = f"{_wrap(self._chain(rest))} @ {code}" if rest else code
        return f"{code} @ {_wrap(self._chain(right))}" if right else code

    def _shift_sum(self, factors, i) -> str:
        """(Σ cⱼ Sⱼ) B = Σ cⱼ (Sⱼ B), and A (Σ cⱼ Sⱼ) alike: one channel's banded Q = Σ wⱼ Sⱼ
        applied tap by tap, each a slice (the operand computed once, under a name)."""
        left, total, right = factors[:i], factors[i], factors[i + 1:]
        side = right or left
        operand = InternalMatrix("operand", side[0].rows, side[-1].cols)
        self.bound[operand] = self.bind(self._chain(side), "g")
        terms = [list(t.args) if isinstance(t, sp.MatMul) else [t] for t in total.args]
        code = self._print(sp.MatAdd(*[sp.MatMul(*t, operand) if right else sp.MatMul(operand, *t)
                                       for t in terms]))
        return f"{_wrap(self._chain(left))} @ ({code})" if right and left else code

    def _padded(self, S, B: str) -> str:
        """B with S's p zero rows above and below, bound to a name once per B (the taps share it)."""
        pads = self.__dict__.setdefault("_pads", {})
        key = (B, S.padding)
        if key not in pads:
            code = B if not S.padding else f"numpy.pad({B}, (({S.padding}, {S.padding}), (0, 0)))"
            pads[key] = self.bind(code, "xp")
        return pads[key]

    @staticmethod
    def _rows(S) -> str:
        """The rows of the padded input tap j reads: j − 1, j − 1 + s, ..., k − j rows short of the end."""
        stop = f"-{S.kernel - S.tap}" if S.kernel > S.tap else ""
        step = f":{S.stride}" if S.stride != 1 else ""
        return f"{S.tap - 1}:{stop}{step}"

    def _gather(self, S, B: str) -> str:
        """S B: the rows tap j reads (a view of the padded B)."""
        return f"{self._padded(S, B)}[{self._rows(S)}]"

    def _scatter(self, S, B: str) -> str:
        """Sᵀ B: the rows of B added back where tap j read them (zeros elsewhere), padding cut off."""
        if self._emit is None:
            raise UnsupportedError("a product with a transposed shift matrix needs a statement context "
                                   "(use codegen or lambdify)")
        b = self.bind(B, "g")
        u = self._fresh("u")
        rows = self._size(S.length + 2 * S.padding)
        self._emit(f"{u} = numpy.zeros((int({rows}), {b}.shape[1]))")
        self._emit(f"{u}[{self._rows(S)}] = {b}")
        return f"{u}[{S.padding}:-{S.padding}]" if S.padding else u

    def _print_Shift(self, expr):
        """S alone (not in a product): rows of an identity, a dense T_out x T matrix."""
        n, p = self._size(expr.length + 2 * expr.padding), expr.padding
        return f"numpy.eye(int({n}))[{self._rows(expr)}, {p}:{-p if p else ''}]"

    # ---- Kronecker products, commutation matrices, diagonals: applied, never built
    def _kronecker(self, f) -> bool:
        """Whether f, a product or sum of them, has a Kronecker or commutation factor that a
        product can apply by a reshape (memoised: sums nest)."""
        if f in self.names or not isinstance(f, sp.Basic):
            return False
        if f not in self._kron_memo:
            self._kron_memo[f] = isinstance(f, (sp.KroneckerProduct, Commutation)) or (
                isinstance(f, (sp.MatAdd, sp.MatMul)) and any(self._kronecker(a) for a in f.args))
        return self._kron_memo[f]

    def _applied(self, f) -> bool:
        """Whether a product applies f to its neighbour (an index trick or a broadcast)."""
        if f in self.names or not isinstance(f, sp.Basic):
            return False
        if (f, "applied") not in self._kron_memo:
            self._kron_memo[f, "applied"] = isinstance(f, (sp.DiagMatrix, sp.Identity)) or self._kronecker(f) or (
                isinstance(f, (sp.MatAdd, sp.MatMul)) and any(self._applied(a) for a in f.args))
        return self._kron_memo[f, "applied"]

    def _applied_chain(self, factors) -> str:
        """A product with Kronecker or commutation factors, from its right-most plain factor
        outwards (or its right-most Kronecker factor, built, when every factor is applied): each
        factor acts on the matrix so far, (I ⊗ A) M and K M as reshapes, diag(v) M as v * M."""
        plain = [i for i, f in enumerate(factors) if not self._applied(f)]
        kron = [i for i, f in enumerate(factors) if isinstance(f, sp.KroneckerProduct)]
        start = plain[-1] if plain else (kron or [len(factors) - 1])[-1]
        acc = self._kron_built(factors[start]) if start in kron else self._print(factors[start])
        for f in factors[start + 1:]:
            acc = self._times(acc, f, left=False)
        for f in reversed(factors[:start]):
            acc = self._times(acc, f, left=True)
        return acc

    def _times(self, acc: str, f, left: bool) -> str:
        """f @ acc (``left``) or acc @ f, for the code ``acc`` of a matrix."""
        if not self._applied(f):
            return f"{self.operand(f)} @ {_wrap(acc)}" if left else f"{_wrap(acc)} @ {self.operand(f)}"
        if isinstance(f, sp.Identity):
            return acc
        if isinstance(f, sp.DiagMatrix):
            col, row = self._diagonal(f.args[0])
            return f"{col} * {_wrap(acc)}" if left else f"{_wrap(acc)} * {row}"
        if isinstance(f, Commutation):  # K_rc: the rows (columns) of acc, read as c x r, transposed
            r, c = (self._size(a) for a in f.args)
            n = self._size(f.rows)
            return (f"{self._step(acc)}.reshape({c}, {r}, -1).transpose(1, 0, 2).reshape({n}, -1)" if left
                    else f"{self._step(acc)}.reshape(-1, {r}, {c}).transpose(0, 2, 1).reshape(-1, {n})")
        if isinstance(f, sp.KroneckerProduct):
            return self._kron_times(acc, f, left)
        acc = self.bind(acc, "m")  # a sum or a product of applied factors acts on acc term by term
        if isinstance(f, sp.MatMul):
            coeff, mats = f.as_coeff_matrices()
            diag = next((i for i, g in enumerate(mats) if isinstance(g, sp.DiagMatrix)), None)
            if coeff != 1 and diag is not None:  # c diag(v) M: c scales v, not the product
                mats[diag], coeff = sp.DiagMatrix(coeff * mats[diag].args[0]), 1
            for g in (reversed(mats) if left else mats):
                acc = self._times(acc, g, left)
            return acc if coeff == 1 else f"{self.operand(coeff)} * {_wrap(acc)}"
        return " + ".join(_wrap(self._times(acc, t, left)) for t in f.args)

    def _kron_built(self, f) -> str:
        """A ⊗ B as one broadcast product (numpy.kron takes several passes), an identity as eye."""
        if len(f.args) != 2:
            return self._print(f)
        A, B = (f"numpy.eye({self._size(X.rows)})" if isinstance(X, sp.Identity) else self.operand(X)
                for X in f.args)
        return (f"({A}[:, None, :, None] * {B}[None, :, None, :])"
                f".reshape({self._size(f.rows)}, {self._size(f.cols)})")

    def _kron_times(self, acc, f, left):
        """(A ⊗ B) M = the p x q blocks of M, B on each (a batched product), then A across them
        (A m x p, B n x q); M (A ⊗ B) likewise. An identity factor costs nothing."""
        A = f.args[0]
        B = f.args[1] if len(f.args) == 2 else sp.KroneckerProduct(*f.args[1:])
        (m, p), (n, q) = ((self._size(s) for s in X.shape) for X in (A, B))
        a_id, b_id = isinstance(A, sp.Identity), isinstance(B, sp.Identity)
        acc = self._step(acc)
        if left:
            if b_id:
                return f"({self.operand(A)} @ {acc}.reshape({p}, -1)).reshape({self._size(f.rows)}, -1)"
            t = f"({self.operand(B)} @ {acc}.reshape({p}, {q}, -1))"
            if a_id:
                return f"{t}.reshape({self._size(f.rows)}, -1)"
            return f"({self.operand(A)} @ {t}.reshape({p}, -1)).reshape({self._size(f.rows)}, -1)"
        if a_id:
            return f"({acc}.reshape(-1, {n}) @ {self.operand(B)}).reshape(-1, {self._size(f.cols)})"
        t = f"{acc}.reshape(-1, {m}, {n})"
        if not b_id:
            t = f"({t} @ {self.operand(B)})"
        return f"({self.operand(A)}.T @ {t}).reshape(-1, {self._size(f.cols)})"

    def _step(self, code: str) -> str:
        """``code`` as a variable when statements can be emitted (one reshape per line), else as is."""
        return self.bind(code, "m") if self._emit is not None else _wrap(code)

    def _inverted(self, f):
        """A when ``f`` is an unshared A⁻¹ (or A⁻ᵀ) that a ``solve`` can replace."""
        if f in self.names:
            return None
        if isinstance(f, sp.Inverse):
            return f.arg
        if isinstance(f, sp.Transpose) and isinstance(f.arg, sp.Inverse) and f.arg not in self.names:
            return sp.Transpose(f.arg.arg)
        return None

    def _diagonal(self, v):
        """The diagonal of diag(v) as a column and as a row (for broadcasting)."""
        code = self.operand(v)
        if v.shape[1] == 1:
            return code, f"{code}.T"
        return f"{code}.T", code

    def _print_MatAdd(self, expr):
        out = []
        terms = [t for t in expr.args if not isinstance(t, sp.ZeroMatrix)] or list(expr.args)
        if any(_constant(t) is None and _broadcast(t) is None for t in terms):
            # a full-shape term is present: 1 - σ and W x + b broadcast, no ones((n, 1)) needed
            terms = [_constant(t) if _constant(t) is not None else
                     _broadcast(t) if _broadcast(t) is not None else t for t in terms]
        for term in terms:
            if term.is_Number and term < 0:
                out.append(("-", self._print(-term)))
                continue
            if term not in self.names and isinstance(term, sp.MatMul):
                coeff, mats = term.as_coeff_matrices()
                if coeff.is_Number and coeff < 0:
                    code = self._print(sp.MatMul(-coeff, *mats) if coeff != -1 else
                                       (sp.MatMul(*mats) if len(mats) > 1 else mats[0]))
                    out.append(("-", _wrap(code)))
                    continue
            out.append(("+", _wrap(self._print(term))))
        out.sort(key=lambda t: t[0] == "-")  # stable: a positive term leads, y - X w
        text = out[0][1] if out[0][0] == "+" else f"-{out[0][1]}"
        for sign, code in out[1:]:
            text += f" {sign} {code}"
        return text

    def _print_HadamardProduct(self, expr):
        factors = [a for a in expr.args if not isinstance(a, sp.OneMatrix)] or expr.args[:1]
        return " * ".join(self.operand(a) for a in factors)

    def _print_HadamardPower(self, expr):
        return f"{self.operand(expr.base)} ** {self.operand(expr.exp)}"

    def _print_KroneckerProduct(self, expr):
        code = self._print(expr.args[0])
        for a in expr.args[1:]:
            code = f"numpy.kron({code}, {self._print(a)})"
        return code

    # ---- unary matrix operations
    def _print_Transpose(self, expr):
        return f"{self.operand(expr.arg)}.T"

    def _print_Adjoint(self, expr):  # the arrays are real (``_matrix`` makes them float)
        return f"{self.operand(expr.arg)}.T"

    def _print_Inverse(self, expr):
        return f"numpy.linalg.inv({self._print(expr.arg)})"

    def _print_MatPow(self, expr):
        base, p = expr.args
        if base.shape == (1, 1):
            return f"{self.operand(base)} ** {self.operand(p)}"
        if not p.is_Integer:
            raise UnsupportedError(
                f"the matrix power {expr} has the exponent {p}; only integer powers of a "
                "square matrix are supported")
        if p == -1:
            return f"numpy.linalg.inv({self._print(base)})"
        return f"numpy.linalg.matrix_power({self._print(base)}, {int(p)})"

    def _print_Trace(self, expr):
        return f"numpy.trace({self._print(expr.arg)})"

    def _print_Determinant(self, expr):
        return f"numpy.linalg.det({self._print(expr.arg)})"

    def _print_log(self, expr):
        (a,) = expr.args
        if isinstance(a, sp.Determinant) and a not in self.names:
            return f"numpy.linalg.slogdet({self._print(a.arg)})[1]"
        if isinstance(a, Sigmoid):  # log σ(u) = −log(1 + e^{−u}): finite where σ(u) rounds to 0 or 1
            return f"(-numpy.logaddexp(0, -{self._paren(a.args[0])}))"
        u = _one_minus_sigmoid(a)
        if u is not None:  # log(1 − σ(u)) = −log(1 + e^{u})
            return f"(-numpy.logaddexp(0, {self._print(u)}))"
        return f"numpy.log({self._print(a)})"

    def _paren(self, e):
        return f"({self._print(e)})"

    def _print_Vec(self, expr):
        return f"{self.operand(expr.args[0])}.reshape(-1, 1, order='F')"

    def _print_Commutation(self, expr):
        return self._times(f"numpy.eye({self._size(expr.rows)})", expr, left=True)

    def _print_DiagMatrix(self, expr):
        return f"numpy.diagflat({self._print(expr.args[0])})"

    def _print_DiagonalOf(self, expr):
        return f"numpy.diagonal({self._print(expr.args[0])}).reshape(-1, 1)"

    def _print_DiagonalMatrix(self, expr):
        return f"numpy.diag(numpy.diagonal({self._print(expr.args[0])}))"

    def _print_MatrixElement(self, expr):
        return f"{self.operand(expr.parent)}[{self._print(expr.i)}, {self._print(expr.j)}]"

    # ---- symcalc's reductions and softmax (results are 1 x 1 arrays)
    def _print_EntrySum(self, expr):
        return f"numpy.sum({self._print(expr.arg)}, keepdims=True)"

    def _print_EntryMean(self, expr):
        return f"numpy.mean({self._print(expr.arg)}, keepdims=True)"

    def _print_SquaredNorm(self, expr):
        return f"numpy.sum(numpy.square({self._print(expr.arg)}), keepdims=True)"

    _print_FrobeniusSquared = _print_SquaredNorm

    def _print_LogSumExp(self, expr):
        z, axis = self.bind(self._print(expr.arg), "z"), expr.axis
        top = self.bind(f"numpy.max({z}, axis={axis}, keepdims=True)", "zmax")
        return f"{top} + numpy.log(numpy.sum(numpy.exp({z} - {top}), axis={axis}, keepdims=True))"

    def _print_Softmax(self, expr):
        z, axis = self.bind(self._print(expr.arg), "z"), expr.axis
        e = self.bind(f"numpy.exp({z} - numpy.max({z}, axis={axis}, keepdims=True))", "e")
        return f"{e} / numpy.sum({e}, axis={axis}, keepdims=True)"

    def _masked(self, expr):
        """The causal softmax's scores with the masked entries −inf (exp gives exactly 0 there)."""
        z = self.bind(self._print(expr.arg), "z")
        tri = f"numpy.tri({z}.shape[0], dtype=bool)" + ("" if expr.axis == 1 else ".T")
        return self.bind(f"numpy.where({tri}, {z}, -numpy.inf)", "zm")

    def _print_CausalSoftmax(self, expr):
        z, axis = self._masked(expr), expr.axis
        e = self.bind(f"numpy.exp({z} - numpy.max({z}, axis={axis}, keepdims=True))", "e")
        return f"{e} / numpy.sum({e}, axis={axis}, keepdims=True)"

    def _centred(self, expr):
        """Variables holding x − μ of each sample and √(σ² + ε), two passes (no cancellation in
        E[x²] − μ²), once per function for a layer normalisation and its std."""
        moments = self.__dict__.setdefault("_moments", {})
        key = expr.std if isinstance(expr, LayerNorm) else expr
        if key not in moments:
            z, axis = self.bind(self._print(expr.arg), "z"), expr.axis
            c = self.bind(f"{z} - numpy.mean({z}, axis={axis}, keepdims=True)", "zc")
            eps = "" if expr.eps == 0 else f" + {self.operand(expr.eps)}"
            moments[key] = c, self.bind(f"numpy.sqrt(numpy.mean({c} ** 2, axis={axis}, keepdims=True){eps})", "sd")
        return moments[key]

    def _print_Std(self, expr):
        return self._centred(expr)[1]

    def _print_LayerNorm(self, expr):
        c, s = self._centred(expr)
        return f"{c} / {s}"

    # ---- elementwise functions
    def _print_ElementwiseApplyFunction(self, expr):
        Z, body = expr.expr, expr.function.expr
        if body == sp.log(ELEMENT):  # the loss values, in the forms the gradients use
            if isinstance(Z, sp.Transpose) and _stable_log(expr) is not None:
                return f"{_wrap(self._print(EAF(expr.function, Z.arg)))}.T"
            U = _one_minus_sigmoid_matrix(Z)
            if U is not None:  # log∘(1 − σ∘(U)), as bce writes it: −log(1 + e^U)
                return f"(-numpy.logaddexp(0, {self._print(U)}))"
            U = _sigmoid_matrix(Z)
            if U is not None:  # log∘σ∘(U): −log(1 + e^{−U})
                return f"(-numpy.logaddexp(0, -{_wrap(self._print(U))}))"
            if isinstance(Z, Softmax):  # log softmax(U) = U − max − log Σ exp(U − max), along its axis
                u, axis = self.bind(self._print(Z.arg), "z"), Z.axis
                if isinstance(Z, CausalSoftmax):  # masked: −inf − finite = −inf, no warning
                    u = self._masked(Z)
                shifted = self.bind(f"{u} - numpy.max({u}, axis={axis}, keepdims=True)", "s")
                return f"({shifted} - numpy.log(numpy.sum(numpy.exp({shifted}), axis={axis}, keepdims=True)))"
        z = self.operand(Z)
        if ELEMENT not in body.free_symbols:
            return f"numpy.full({z}.shape, {self._print(body)}, dtype=float)"
        saved = self._element, self._body_root
        self._element, self._body_root = (Z, z), body
        try:
            return self._print(body)
        finally:
            self._element, self._body_root = saved

    def _print_template(self, expr):
        """symcalc's scalar functions carry their NumPy form (``numpy_template``)."""
        return _wrap(expr.numpy_template.format(*[self._print(a) for a in expr.args]))

    def _print_Derivative(self, expr):
        return self._print_not_supported(expr)

    _print_Subs = _print_Derivative

    def _print_Max(self, expr):
        return self._fold("numpy.maximum", expr.args)

    def _print_Min(self, expr):
        return self._fold("numpy.minimum", expr.args)

    def _fold(self, fn, args):
        code = self._print(args[0])
        for a in args[1:]:
            code = f"{fn}({code}, {self._print(a)})"
        return code

    def _print_Abs(self, expr):
        return f"numpy.abs({self._print(expr.args[0])})"

    def _print_Heaviside(self, expr):
        x, h0 = expr.args if len(expr.args) == 2 else (expr.args[0], sp.S.Half)
        return f"numpy.heaviside({self._print(x)}, {self._print(h0)})"

    def _print_not_supported(self, expr):
        undefined = next(iter(expr.atoms(AppliedUndef)), None) if isinstance(expr, sp.Basic) else None
        if undefined is not None:
            f = undefined.func
            raise UnsupportedError(
                f"{f} in {describe(expr)} is an undefined function, which has no numbers; to evaluate, "
                f"give it a body: expr.replace({f}, sp.Lambda(u, sp.tanh(u))) (then .doit() its "
                "derivatives)")
        raise UnsupportedError(
            f"no NumPy form for {type(expr).__name__} in {describe(expr)}; elementwise bodies may "
            "use exp, log, sqrt, powers, sin, cos, tan, tanh, Abs, Max, Min, Heaviside, Piecewise "
            "and symcalc's sigmoid, step, relu, leaky_relu, softplus")

    def _print_Rational(self, expr):
        return f"({expr.p}/{expr.q})"

    # ---- explicit matrices and arrays
    def _print_ImmutableDenseMatrix(self, expr):
        rows = ", ".join("[" + ", ".join(self._print(expr[i, j]) for j in range(expr.cols)) + "]"
                         for i in range(expr.rows))
        return f"numpy.array([{rows}], dtype=float)"

    _print_MutableDenseMatrix = _print_ImmutableDenseMatrix
    _print_ImmutableMatrix = _print_ImmutableDenseMatrix

    def _print_NDimArray(self, expr):
        def nested(x):
            if isinstance(x, list):
                return "[" + ", ".join(nested(v) for v in x) + "]"
            return self._print(x)
        return f"numpy.array({nested(expr.tolist())}, dtype=float)"

    _print_ImmutableDenseNDimArray = _print_NDimArray
    _print_MutableDenseNDimArray = _print_NDimArray

    def _print_MatrixExpr(self, expr):
        raise UnsupportedError(
            f"no NumPy form for the matrix operation {type(expr).__name__} in {expr}; supported: "
            "MatMul, MatAdd, Transpose, Inverse, MatPow, Trace, Determinant, log det, "
            "HadamardProduct, HadamardPower, KroneckerProduct, Identity, ZeroMatrix, OneMatrix, "
            "DiagMatrix, DiagonalOf, matrix elements, elementwise functions, EntrySum, EntryMean, "
            "LogSumExp, SquaredNorm, FrobeniusSquared, Softmax, explicit matrices and arrays")


for _f in SCALAR_FUNCTIONS:  # SymPy's dispatch skips intermediate base classes of a Function
    setattr(NumericPrinter, f"_print_{_f.__name__}", NumericPrinter._print_template)


# --------------------------------------------------------------------------- the generated function

def _elementwise_body(M):
    """(body in ELEMENT, Z) when M is entrywise algebra over one matrix Z, else None."""
    if isinstance(M, EAF):
        return M.function.expr, M.expr
    if isinstance(M, sp.OneMatrix):
        return sp.S.One, None
    parts = None
    if isinstance(M, (sp.HadamardProduct, sp.MatAdd)):
        parts = [_elementwise_body(a) for a in M.args]
        combine = sp.Mul if isinstance(M, sp.HadamardProduct) else sp.Add
    elif isinstance(M, sp.MatMul):
        coeff, mats = M.as_coeff_matrices()
        if len(mats) == 1 and coeff.is_Number:
            parts = [(coeff, None), _elementwise_body(mats[0])]
            combine = sp.Mul
    elif isinstance(M, sp.HadamardPower) and M.exp.is_Number:
        inner = _elementwise_body(M.base)
        return None if inner is None else (inner[0] ** M.exp, inner[1])
    if parts is None:
        return ELEMENT, M
    if any(p is None for p in parts):
        return None
    zs = {z for _, z in parts if z is not None}
    if len(zs) > 1:
        return None
    return combine(*[b for b, _ in parts]), (zs.pop() if zs else None)


def _shift_of(f):
    """(S, False) for a shift matrix S, (S, True) for Sᵀ, else (None, False)."""
    if isinstance(f, Shift):
        return f, False
    if isinstance(f, sp.Transpose) and isinstance(f.arg, Shift):
        return f.arg, True
    return None, False


def _shift_term(t) -> bool:
    """A term cⱼ Sⱼ (or cⱼ Sⱼᵀ) of a sum of shift matrices."""
    factors = t.args if isinstance(t, sp.MatMul) else (t,)
    return any(_shift_of(f)[0] is not None for f in factors)


def _provably_nonnegative(M) -> bool:
    """Every entry of M is ≥ 0 whatever the values (a proof by SymPy, not a numeric probe).

    σ(u) is written 1/(1 + t) and eᵘ as t with t > 0, so σ(1 − σ) becomes t/(1 + t)², which
    SymPy knows to be positive.
    """
    found = _elementwise_body(M)
    if found is None:
        return False
    body = found[0]
    subs = {}
    for f in body.atoms(sp.Function):
        if type(f).__name__ == "Sigmoid":
            subs[f] = 1 / (1 + sp.Dummy("t", positive=True))
        elif isinstance(f, sp.exp):
            subs[f] = sp.Dummy("t", positive=True)
    body = sp.together(body.xreplace(subs))
    return bool(body.is_nonnegative)


def _diag_reciprocal(f):
    """diag(1 ⊘ s) for diag(s)⁻¹ (layer normalisation's gradient divides each sample by its std), else f."""
    if isinstance(f, sp.Inverse) and isinstance(f.arg, sp.DiagMatrix):
        return sp.DiagMatrix(sp.HadamardPower(f.arg.args[0], -1))
    return f


def _broadcast(term):
    """v for a term v 1ᵀ (a column times a row of ones), or 1 r for r; else None."""
    if not isinstance(term, sp.MatMul):
        return None
    coeff, mats = term.as_coeff_matrices()
    if len(mats) < 2:
        return None
    if isinstance(mats[-1], sp.OneMatrix) and mats[-1].rows == 1 and mats[-2].cols == 1:
        return sp.MatMul(coeff, *mats[:-1]) if coeff != 1 or len(mats) > 2 else mats[0]
    if isinstance(mats[0], sp.OneMatrix) and mats[0].cols == 1 and mats[1].rows == 1:
        return sp.MatMul(coeff, *mats[1:]) if coeff != 1 or len(mats) > 2 else mats[1]
    return None


def _constant(term):
    """c for a term c·1 (a OneMatrix times a number), else None."""
    if isinstance(term, sp.OneMatrix):
        return sp.S.One
    if isinstance(term, sp.MatMul):
        coeff, mats = term.as_coeff_matrices()
        if len(mats) == 1 and isinstance(mats[0], sp.OneMatrix) and coeff.is_Number:
            return coeff
    return None


def _hint(e, forced_arg) -> str:
    if isinstance(e, EAF):
        body = e.function.expr
        if isinstance(body, sp.Function):
            name = type(body).__name__.lower()
            return {"sigmoid": "sigma", "exp": "ex"}.get(name, name)
        return "h"
    if isinstance(e, Softmax):
        return "p"
    if forced_arg:
        return "z"
    if isinstance(e, sp.Inverse):
        return "inv"
    if _is_matrix(e):
        return "m"
    return "c"


def _kind(shape) -> str:
    r, c = shape
    if c == 1 and r != 1:
        return "column"
    if r == 1 and c != 1:
        return "row"
    return "matrix"


class _Builder:
    """Collects the lines of one generated function."""

    def __init__(self, args, structure=True):
        self.args = list(args)
        self.structure = structure
        self.lines: list[str] = []
        self.used: set[str] = set()
        self.counters: Counter = Counter()
        self.bound: dict = {}
        self.source: dict = {}

    def fresh(self, hint: str) -> str:
        while True:
            self.counters[hint] += 1
            name = f"{hint}{self.counters[hint]}"
            if name not in self.used and name not in RESERVED and not keyword.iskeyword(name):
                self.used.add(name)
                return name

    def emit(self, line: str) -> None:
        self.lines.append(line)

    # ---- arguments
    def declare(self) -> None:
        seen_norm: dict = {}
        for a in self.args:
            if not isinstance(a, (sp.MatrixSymbol, sp.Symbol)):
                raise SymcalcError(f"arguments are MatrixSymbols and Symbols, got {a!r}")
            name = validate_name(a.name, "argument")
            norm = unicodedata.normalize("NFKC", name)
            if norm in seen_norm:
                raise SymcalcError(
                    f"two arguments share the name {name!r} (as Python sees it): "
                    f"{seen_norm[norm]!r} and {a!r}; give them distinct names")
            seen_norm[norm] = a
            self.used.add(norm)
            self.bound[a] = name
        for a in self.args:
            if isinstance(a, sp.Symbol):
                conv = "int" if a.is_integer else "float"
                self.emit(f"{self.bound[a]} = {conv}({self.bound[a]})")
        sizes = []
        for a in self.args:
            if isinstance(a, sp.MatrixSymbol):
                shape = tuple(sp.sympify(s) for s in a.shape)
                text = f"({shape[0]}, {shape[1]})"
                v = self.bound[a]
                self.emit(f"{v} = _matrix({v}, {a.name!r}, {text!r}, {_kind(shape)!r})")
                sizes.append((a, shape))
        self._bind_sizes(sizes)
        if self.structure:
            self._check_structure()

    def _check_structure(self) -> None:
        """Declared structure that symbolic results rely on (Sᵀ = S, 1ᵀy = 1) is checked too, to
        within 1e-4 of the scale: a finite-difference step must pass, a wrong input must not."""
        for a in self.args:
            v = self.bound[a]
            if isinstance(a, SymmetricMatrix):
                msg = (f"argument {a.name} is declared symmetric, but it is not: results "
                       f"simplified with {a.name}.T = {a.name} would be wrong for it")
                self.emit(f"if not numpy.allclose({v}, {v}.T, rtol=0, "
                          f"atol=1e-4 * (1 + numpy.abs({v}).max(initial=0))):")
                self.emit(f"    raise ValueError({msg!r})")
            elif isinstance(a, OneHot):
                part, rule = ("a column", "1ᵀY = 1ᵀ") if a.axis == 0 else ("a row", "Y 1 = 1")
                msg = (f"argument {a.name} is declared one-hot, but {part} does not sum to 1: "
                       f"results simplified with {rule} would be wrong for it")
                self.emit(f"if not numpy.allclose(numpy.sum({v}, axis={a.axis}), 1, rtol=0, atol=1e-4):")
                self.emit(f"    raise ValueError({msg!r})")

    def _bind_sizes(self, sizes) -> None:
        own: dict = {}
        for a, shape in sizes:
            for axis, s in enumerate(shape):
                if isinstance(s, sp.Symbol) and s not in self.bound:
                    name = validate_name(s.name, "size")
                    if unicodedata.normalize("NFKC", name) in self.used:
                        raise SymcalcError(
                            f"the size {s} of {a.name} has the name of another argument")
                    self.used.add(name)
                    self.bound[s] = name
                    self.source[s] = a.name
                    own.setdefault(a, set()).add(axis)
                    self.emit(f"{name} = {self.bound[a]}.shape[{axis}]")
        for a, shape in sizes:  # sizes such as d + 1: solve for a still unknown symbol
            for axis, s in enumerate(shape):
                unknown = [t for t in s.free_symbols if t not in self.bound]
                if len(unknown) == 1:
                    t = sp.Dummy("t")
                    sol = sp.solve(sp.Eq(s, t), unknown[0])
                    if len(sol) == 1:
                        u = unknown[0]
                        name = validate_name(u.name, "size")
                        self.used.add(name)
                        self.bound[t], self.bound[u] = f"{self.bound[a]}.shape[{axis}]", name
                        self.source[u] = a.name
                        code = _tidy(NumericPrinter(bound=self.bound)._print(sol[0]))
                        self.emit(f"{name} = int({code})")  # the shape check below confirms it
                elif unknown:
                    raise SymcalcError(f"cannot determine the sizes {unknown} from the shape of "
                                       f"{a.name} ({shape[0]}, {shape[1]})")
        printer = NumericPrinter(bound=self.bound)
        for a, shape in sizes:
            if own.get(a) == {0, 1}:
                continue
            want = tuple(_tidy(printer._print(s)) for s in shape)
            symbols = sorted({t for s in shape for t in s.free_symbols}, key=str)
            origin = ", ".join(f"{t} from {self.source[t]}" for t in symbols
                               if self.source.get(t) not in (None, a.name))
            values = "(" + ", ".join(c if c.isdigit() else "{" + c + "}" for c in want) + ")"
            declared = f"({shape[0]}, {shape[1]})"
            detail = f" = {values}" if symbols else ""
            v = self.bound[a]
            msg = (f"argument {a.name} has shape {{{v}.shape}}, expected {declared}{detail}"
                   + (f" ({origin})" if origin else ""))
            self.emit(f"if {v}.shape != ({want[0]}, {want[1]}):")
            self.emit(f"    raise ShapeError(f{msg!r})")


@limits.deep  # a deep network's gradient is printed by recursion as deep as the network
def function_source(exprs, args, name: str = "f", structure: bool = True, doc: bool = True) -> str:
    """The ``def`` of a NumPy function of ``args`` returning ``exprs`` (one, or a tuple for a list).

    It refers to ``numpy``, ``ShapeError`` and the ``_matrix`` helper (``HELPERS``) as globals.
    ``structure=False`` leaves out the checks of declared structure (symmetric, one-hot), for
    finite differences that perturb one entry at a time; ``doc=False`` the docstring that
    describes the outputs (SymPy's str of a matrix product is slow), for code no one reads.
    """
    return _function_source(exprs, args, name, structure, doc)


def _function_source(exprs, args, name, structure, doc=True):
    if validate_name(name, "function") != name:
        raise SymcalcError(f"the function name {name!r} is a Python keyword or reserved; choose another")
    single = not isinstance(exprs, (list, tuple))
    outputs = [exprs] if single else list(exprs)
    if isinstance(args, (sp.Basic,)) and not isinstance(args, sp.Tuple):
        args = [args]
    args = list(args)
    memo = {}
    outputs = [_canonical(sp.ImmutableMatrix(o) if isinstance(o, sp.MatrixBase) else as_expression(o),
                          memo) for o in outputs]
    # no code for an ill-shaped expression (numpy.trace of a row is not an error)
    check_shapes(*[o for o in outputs if not isinstance(o, NDimArray)])

    b = _Builder(args, structure)
    b.declare()
    start = len(b.lines)
    # the smallest output first: a backward pass computes dL/dW_L, then dL/dW_{L-1}, ..., each as
    # soon as its δ is known, and every intermediate is released after its last use (``_release``)
    counts, order = _analyse(sorted(outputs, key=dag.count) if not single else outputs)
    forced = {e.expr for e in order if isinstance(e, EAF) and not _trivial(e.expr)
              and _stable_log(e) is None}
    early = set() if single else {e for e in outputs if _is_matrix(e) and not isinstance(e, sp.MatrixBase)}
    names: dict = {}
    printer = NumericPrinter(names=names, bound=b.bound, emit=b.emit, fresh=b.fresh)
    height = {}  # nesting below e in its line of code: Python parses at most 200 parentheses
    for e in order:
        if _trivial(e) or e in names:
            continue
        height[e] = 1 + max((height.get(c, 0) for c in _children(e)), default=0)
        if counts[e] >= 2 or e in forced or e in early or height[e] >= MAX_NESTING:
            code = _tidy(printer._print(e))
            if code.startswith("numpy.broadcast_to("):  # a read-only view: an array of its own
                code = f"numpy.array({code})"
            var = b.fresh("out" if e in early and counts[e] < 2 else _hint(e, e in forced))
            b.emit(f"{var} = {code}")
            names[e] = var
            height[e] = 0

    results = []
    for e in outputs:
        code = printer._print(e)
        if not _is_matrix(e) and not isinstance(e, NDimArray):
            code = f"float({code})"
        if code.startswith("numpy.broadcast_to("):  # a read-only view: hand back an array of its own
            code = f"numpy.array({code})"
        results.append(_tidy(code))
    if single:
        b.emit(f"return {results[0]}")
    else:
        b.emit("return " + ", ".join(results) + ("," if len(results) == 1 else ""))
    b.lines[start:] = _release(b.lines[start:])

    head = f"def {name}({', '.join(b.bound[a] for a in args)}):"
    given = ", ".join(f"{a.name} {_shape_text(a)}" if _is_matrix(a) else a.name for a in args)
    lines = []
    if doc:
        lines = ['    """Generated by symcalc.', "", f"    Arguments: {given}.", "    Returns:"]
        lines += [f"        {describe(o, 100)}  {_value_text(o)}" for o in outputs]
        lines += ['    """']
    return "\n".join([head] + lines + ["    " + line for line in b.lines]) + "\n"


def _release(lines):
    """The statements with ``del`` after the last use of each variable they assign (the last line
    returns): a deep network's backward pass then holds as many arrays as a hand-written one
    (one δ at a time, not all of them until the return; kept, they cost a fifth more time)."""
    assigned, last = {}, {}  # variable -> line of its assignment, of its last use
    for i, line in enumerate(lines):
        for node in ast.walk(ast.parse(line)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                assigned[node.id] = i
            elif isinstance(node, ast.Name) and node.id in assigned:
                last[node.id] = i
    out = []
    for i, line in enumerate(lines):
        out.append(line)
        done = [v for v in assigned if last.get(v) == i and i < len(lines) - 1]
        if done:
            out.append("del " + ", ".join(done))
    return out


def _shape_text(e) -> str:
    return f"({e.shape[0]}, {e.shape[1]})"


def _value_text(e) -> str:
    if isinstance(e, NDimArray):
        return f"[array of shape {tuple(e.shape)}]"
    if _is_matrix(e):
        return f"[{_shape_text(e)} array]"
    return "[float]"


def _one_minus_sigmoid(a):
    """u where the scalar a is 1 − σ(u)."""
    if isinstance(a, sp.Add) and len(a.args) == 2 and sp.S.One in a.args:
        rest = a - 1
        if isinstance(rest, sp.Mul) and rest.args[0] == -1 and len(rest.args) == 2 \
                and isinstance(rest.args[1], Sigmoid):
            return rest.args[1].args[0]
    return None


def _is_ones(a):
    """The all-ones matrix (the 1 x 1 identity is one too: a network's 1 x 1 output writes I − σ)."""
    return isinstance(a, sp.OneMatrix) or (isinstance(a, sp.Identity) and a.shape == (1, 1))


def _stable_log(e):
    """U for log∘ of softmax(U), σ∘(U) or 1 − σ∘(U), which the printer writes from U; else None."""
    if e.function.expr != sp.log(ELEMENT):
        return None
    Z = e.expr.arg if isinstance(e.expr, sp.Transpose) else e.expr  # log∘(Mᵀ) = (log∘M)ᵀ
    if isinstance(Z, Softmax):
        return Z.arg
    U = _sigmoid_matrix(Z)
    return U if U is not None else _one_minus_sigmoid_matrix(Z)


def _sigmoid_matrix(Z):
    """U where the matrix Z is σ∘(U), else None."""
    if isinstance(Z, EAF) and Z.function.expr == Sigmoid(Z.function.variables[0]):
        return Z.expr
    return None


def _one_minus_sigmoid_matrix(Z):
    """U where the matrix Z is 1 − σ∘(U) (a matrix of ones minus an elementwise sigmoid)."""
    if not (isinstance(Z, sp.MatAdd) and len(Z.args) == 2):
        return None
    ones = [a for a in Z.args if _is_ones(a)]
    rest = [a for a in Z.args if not _is_ones(a)]
    if len(ones) != 1 or len(rest) != 1 or not isinstance(rest[0], sp.MatMul):
        return None
    c, mats = rest[0].as_coeff_matrices()
    if c != -1 or len(mats) != 1:
        return None
    return _sigmoid_matrix(mats[0])


class _DescribePrinter(StrPrinter):
    """SymPy's str, with an elementwise function written as f(Z) rather than Lambda(_z, f(_z)).(Z)."""

    def _print_ElementwiseApplyFunction(self, expr):
        arg = sp.Symbol(self._print(expr.expr))
        return self._print(expr.function.expr.xreplace({expr.function.variables[0]: arg}))

    def parenthesize(self, item, level, strict=False):
        """SymPy's, but a product's precedence is read off its coefficient: SymPy asks it whether
        it could extract a minus sign, which builds −M and evaluates it (a diag(v) in it calls the
        assumption solver: seconds for the docstring of a vec Hessian)."""
        if not isinstance(item, sp.MatMul):
            return super().parenthesize(item, level, strict)
        c = item.as_coeff_matrices()[0]
        prec = PRECEDENCE["Add"] if c.is_number and c.is_extended_negative else PRECEDENCE["Mul"]
        return f"({self._print(item)})" if prec < level or (not strict and prec <= level) else self._print(item)

    def _print_MatMul(self, expr):
        c, mats = expr.as_coeff_matrices()
        sign = "-" if c.is_number and c.is_extended_negative else ""
        args = ([-c if sign else c] if c != (-1 if sign else 1) else []) + list(mats)
        return sign + "*".join(self.parenthesize(a, PRECEDENCE["Mul"]) for a in args)


def tree_size(e, limit=None) -> int:
    """Nodes of ``e`` written out as a tree (a DAG with sharing can be exponentially larger);
    the count stops early once it passes ``limit``."""
    count, stack = 0, [e]
    while stack:
        x = stack.pop()
        count += 1
        if limit is not None and count > limit:
            break
        stack.extend(getattr(x, "args", ()))
    return count


def describe(e, limit=120) -> str:
    """A one-line description; never prints an expression too big to print (SymPy's str of a
    deep network's gradient takes minutes). Cheap: a network's many outputs share one DAG."""
    if tree_size(e, limit=400) > 400:
        shape = f"{e.shape[0]} x {e.shape[1]} " if _is_matrix(e) else ""
        return f"<{shape}expression too large to print>"
    text = _DescribePrinter().doprint(e).replace('"', "'").replace("\\", "/")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def codegen(exprs: Expr | Sequence[Expr], args: Arguments, name: str = "f",
            structure: bool = True) -> str:
    """Source of a Python module whose function ``name(*args)`` returns ``exprs`` with NumPy.

    ``exprs`` is one expression or a list (the function then returns a tuple); ``args`` are the
    MatrixSymbols and Symbols it takes, in order. The module imports only NumPy; write it to a
    file and import it, or ``exec`` it.
    """
    body = function_source(exprs, args, name, structure)
    return "\n\n".join([
        '"""NumPy code generated by symcalc."""\nimport numpy',
        SHAPE_ERROR_CLASS, HELPERS, body,
    ])
