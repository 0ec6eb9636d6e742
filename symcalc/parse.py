r"""The expression language of the command line: text to a SymPy matrix expression, safely.

The text is read with ``ast.parse(mode="eval")`` and only the node types of the grammar below are
accepted; nothing the user writes is ever given to ``eval``, ``sympify`` or ``parse_expr`` (all of
which execute code). Every name must be declared, every shape is checked as the expression is built
(SymPy does not reject an (n x d) times (n x d) product when the sizes are symbols), and a rejected
text raises ``ParseError`` (its ``offset``, ``column`` and ``caret`` locate the problem) or
``ShapeError`` naming the sub-expression and both shapes.

Grammar (Python's operator precedence; ``**`` binds tightest, then unary minus)::

    expr     := expr ("+" | "-") term | term
    term     := term ("*" | "/" | "@") unary | unary
    unary    := "-" unary | "+" unary | power
    power    := postfix ["**" unary]
    postfix  := atom | postfix ".T" | postfix "[" INT "," INT "]"
    atom     := NAME | NUMBER | "(" expr ")" | FUNCTION "(" expr {"," expr} ")" | matrix
    matrix   := "[" row {";" row} "]"          (an explicit matrix of scalars; [a; b] is a column)
    row      := expr {"," expr}

Names are declared: matrices with a shape (``--shape X=n,d``; ``--shape x=n`` is a column
``n x 1``), scalars (``--scalar a``; ``--positive lam`` for a positive one), square matrices
declared symmetric (``--symmetric A``, then ``A.T`` is ``A``) and one-hot targets (``--onehot y``). A size is a positive integer or a name,
which becomes a positive integer symbol and may also be used as a scalar (``norm2(r)/n``). Names
are ASCII identifiers that are not Python keywords, function names or ``T``. Numbers are integers
or decimals (``0.5`` is exactly 1/2).

Operators:

* ``A * B`` is the matrix product of two matrices, and scaling when one side is a scalar; ``@`` is
  the matrix product only. ``x.T*A*x`` is a 1 x 1 matrix, which counts as a scalar.
* ``+`` and ``-`` need equal shapes; a 1 x 1 matrix next to a scalar is used as that scalar
  (its only entry, printed tr(M) by SymPy), as it is when it divides or scales a matrix. A scalar
  added to a larger matrix is added to every entry: ``1 - y`` is 𝟏 − y (the all-ones matrix).
* ``/`` divides by a scalar (or a 1 x 1 matrix); by a matrix it divides entry by entry, ``w / x`` is
  w ⊘ x (equal shapes, or a scalar over a matrix); for a matrix inverse use ``inv``.
* ``A ** k`` with ``A`` square and ``k`` an integer is the matrix power; scalars take any power.
* ``A.T`` is the transpose; ``A[i, j]`` is one entry (0-based integer literals).
* ``[x1 + x2*x3; x1**2 + 3*x2]`` is an explicit column of scalar expressions, ``[a, b; c, d]`` an
  explicit 2 x 2 matrix (MATLAB's notation; ``[[a, b], [c, d]]`` too).

Functions (elementwise ones act entry by entry on a matrix and as usual on a scalar):

* ``sigmoid relu tanh softplus exp log sqrt sin cos threshold``: elementwise (``threshold`` is
  1[z ≥ 0]); ``leaky_relu(Z)`` and ``leaky_relu(Z, alpha)`` (alpha = 1/100 unless given)
* ``max(a, b, ...)``, ``min(a, b, ...)`` of scalars (``max(0, w.T*x + b)``), or of one matrix and
  scalars, entry by entry
* ``tr(A)``, ``det(A)``, ``logdet(A)``, ``inv(A)``: trace, determinant, log det, inverse (A square)
* ``sum(Z)``, ``mean(Z)``: the sum or mean of all entries (1 x 1)
* ``softmax(Z)`` (column by column), ``logsumexp(z)`` (of a column)
* ``sum(Z, axis=1)``, ``mean(Z, axis=1)``, ``logsumexp(Z, axis=1)``, ``softmax(Z, axis=1)``: along each
  row (``axis=0``: along each column), NumPy's convention
* ``layer_norm(X, axis=1, eps=e)``: each row (``axis=0``: each column; a vector: its entries) as
  (x − μ)/√(σ² + ε); ``std(X, axis=1, eps=e)`` its √(σ² + ε); ``softmax(S, axis=1, causal=True)`` masks
  the entries above the diagonal of a square S
* ``norm2(x)`` = ‖x‖², ``frobenius2(Z)`` = ‖Z‖_F² (1 x 1)
* ``hadamard(A, B, ...)`` = A ⊙ B ⊙ ..., ``kron(A, B)`` = A ⊗ B, ``diag(v)`` for a column v
* ``mse(yhat, y)``, ``bce(p, y)``, ``cross_entropy(p, y)``: losses on predictions (probabilities
  for the cross-entropies)
* ``eye(n)``, ``ones(m, n)``, ``zeros(m, n)``: identity, all-ones and zero matrices of given sizes
* ``conv1d(X, W1, W2, W3)``, ``conv1d(X, W1, W2, W3, stride=2, padding=0)``: the one-dimensional
  convolution Σⱼ Sⱼ X Wⱼ of the rows of X, one tap per argument after X (matrices, or scalars for
  one channel); ``padding`` is an integer, ``'same'`` (the default) or ``'valid'``

Example::

    >>> parse("(y - X*theta).T*(y - X*theta)", {"X": ("n", "d"), "y": ("n", 1), "theta": ("d", 1)})
    (-theta.T*X.T + y.T)*(-X*theta + y)
    >>> parse("X*X", {"X": ("n", "d")})
    Traceback (most recent call last):
    symcalc.errors.ShapeError: column 2: a matrix product needs columns of the left = rows of the right in X*X: X is n x d and X is n x d
"""
from __future__ import annotations

import ast
import keyword
import math
import re
from fractions import Fraction

import sympy as sp

from . import functions as F
from . import limits
from .convolution import conv1d
from .errors import ParseError, ShapeError
from .functions import is_matrix

MAX_LENGTH = 4000

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")

#: Elementwise functions: name -> builder of one argument.
ELEMENTWISE = {
    "sigmoid": F.sigmoid, "relu": F.relu, "tanh": F.tanh, "softplus": F.softplus, "exp": F.exp,
    "log": F.log, "sqrt": F.sqrt, "sin": F.sin, "cos": F.cos, "threshold": F.threshold,
}

#: Every function name of the grammar, with its argument count as (min, max); None = any number.
FUNCTIONS = {
    **{name: (1, 1) for name in ELEMENTWISE},
    "leaky_relu": (1, 2), "tr": (1, 1), "det": (1, 1), "logdet": (1, 1), "inv": (1, 1),
    "sum": (1, 1), "mean": (1, 1), "softmax": (1, 1), "logsumexp": (1, 1), "norm2": (1, 1),
    "frobenius2": (1, 1), "hadamard": (2, None), "kron": (2, 2), "diag": (1, 1), "mse": (2, 2),
    "bce": (2, 2), "cross_entropy": (2, 2), "eye": (1, 1), "ones": (2, 2), "zeros": (2, 2),
    "max": (2, None), "min": (2, None),
}
FUNCTIONS.update({"layer_norm": (1, 1), "std": (1, 1)})

#: the convolution takes keywords of its own (stride=, padding=): read apart from FUNCTIONS
CONV1D = "conv1d"

_RESERVED = set(FUNCTIONS) | {"T", CONV1D}

#: functions that take ``axis=0`` (along each column) or ``axis=1`` (along each row)
AXIS_FUNCTIONS = {"sum", "mean", "logsumexp", "softmax"}
#: keywords beyond the axis: layer_norm(X, axis=1, eps=1e-5), std(X, axis=1), softmax(S, axis=1, causal=True)
KEYWORDS = {"layer_norm": ("axis", "eps"), "std": ("axis", "eps"), "softmax": ("axis", "causal")}


# ---------------------------------------------------------------------- declarations

def check_name(name: str, what: str = "name") -> str:
    """``name`` if it is a plain ASCII identifier the grammar can use, else ParseError."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ParseError(f"{what} {name!r} is not a valid identifier (a letter, then letters, digits "
                         "or underscores)")
    if keyword.iskeyword(name) or name in _RESERVED:
        raise ParseError(f"{what} {name!r} is reserved (a Python keyword or a function name of the "
                         "grammar); choose another name")
    return name


def size_symbol(name: str) -> sp.Symbol:
    """The symbol of a size: a positive integer."""
    return sp.Symbol(check_name(name, "size"), integer=True, positive=True)


def _size(value, owner):
    if isinstance(value, bool):
        raise ParseError(f"size {value!r} of {owner} is not a positive integer or a name")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        if int(value) < 1:
            raise ParseError(f"size {value!r} of {owner} is not positive")
        return sp.Integer(int(value))
    if isinstance(value, sp.Integer) and value > 0:
        return value
    if isinstance(value, sp.Symbol):
        value = value.name
    if isinstance(value, str):
        return size_symbol(value.strip())
    raise ParseError(f"size {value!r} of {owner} is not a positive integer or a name")


def parse_shape(spec: str) -> tuple[str, tuple[str, ...]]:
    """``"X=n,d"`` -> ``("X", ("n", "d"))``; ``"x=n"`` is the column ``("n", "1")``."""
    name, sep, sizes = spec.partition("=")
    if not sep:
        raise ParseError(f"shape {spec!r} is not NAME=ROWS,COLS (e.g. X=n,d) or NAME=ROWS for a column")
    parts = tuple(s.strip() for s in sizes.split(","))
    if len(parts) == 1:
        parts = (parts[0], "1")
    if len(parts) != 2 or not all(parts):
        raise ParseError(f"shape {spec!r} is not NAME=ROWS,COLS (e.g. X=n,d) or NAME=ROWS for a column")
    name = check_name(name.strip(), "matrix name")
    for size in parts:
        _size(size, name)
    return name, parts


def declare(shapes=None, scalars=(), symmetric=(), onehot=(), positive=()) -> dict:
    """The namespace of an expression: {name: MatrixSymbol, scalar Symbol or size Symbol}.

    ``shapes`` maps matrix names to (rows, cols), each a positive integer or a size name;
    ``scalars`` are real scalar symbols and ``positive`` positive ones; names in ``symmetric``
    (square) become ``SymmetricMatrix`` and names in ``onehot`` ``OneHot`` (both need a shape).
    """
    shapes = dict(shapes or {})
    for name in (*symmetric, *onehot):
        if name not in shapes:
            raise ParseError(f"{name} is declared symmetric or one-hot but has no shape; "
                             f"give it one (--shape {name}=ROWS,COLS)")
    matrices, sizes = {}, {}
    for name, shape in shapes.items():
        check_name(name, "matrix name")
        if len(tuple(shape)) != 2:
            raise ParseError(f"shape of {name} must be (rows, cols), got {shape!r}")
        rows, cols = (_size(s, name) for s in shape)
        sizes.update({s.name: s for s in (rows, cols) if isinstance(s, sp.Symbol)})
        if name in symmetric:
            if rows != cols:
                raise ShapeError(f"{name} is declared symmetric but its shape {rows} x {cols} is not square")
            matrices[name] = F.SymmetricMatrix(name, rows)
        elif name in onehot:
            matrices[name] = F.OneHot(name, rows, cols)
        else:
            matrices[name] = sp.MatrixSymbol(name, rows, cols)
    both = sorted(set(sizes) & set(matrices))
    if both:
        raise ParseError(f"{both[0]} is both a matrix and a size; give the size another name")
    space = {**sizes, **matrices}
    for name, assumption in [*((s, "real") for s in scalars), *((s, "positive") for s in positive)]:
        check_name(name, "scalar name")
        if name in space:
            clash = ("a size" if space[name].is_integer else "a scalar") \
                if isinstance(space[name], sp.Symbol) else "a matrix"
            raise ParseError(f"{name} is declared a scalar and is also {clash}")
        space[name] = sp.Symbol(name, **{assumption: True})
    return space


# ---------------------------------------------------------------------- parsing

def parse(text: str, shapes=None, scalars=(), symmetric=(), onehot=(), positive=()):
    """The SymPy expression that ``text`` denotes (see the module docstring for the grammar).

    Raises ParseError for text outside the grammar (with ``.offset``, ``.column`` and ``.caret``)
    and ShapeError for shapes that do not fit, naming the sub-expression and both shapes.
    """
    return parse_in(text, declare(shapes, scalars, symmetric, onehot, positive))


def parse_in(text: str, space: dict, written: bool = False):
    """``parse`` in a namespace made by ``declare`` (to read several texts with the same symbols).

    ``written=True`` keeps scalar arithmetic as written ((e^{-b} + 1 - 1)/u**2 stays so, as an
    author's chain of equalities needs it), instead of SymPy's evaluated form."""
    return _Parser(text, space, written).run()


def _shape(e) -> str:
    return f"{e.rows} x {e.cols}" if is_matrix(e) else "scalar"


class _Parser:
    def __init__(self, text, space, written=False):
        if not isinstance(text, str):
            raise ParseError(f"an expression is text, not {type(text).__name__}")
        self.text = text.strip()
        self.space = space
        self.written = written

    # errors ---------------------------------------------------------------
    def error(self, node, message, cls=ParseError):
        """The error located at ``node`` (at its operator for a binary operation)."""
        data = self.text.encode()  # ast counts UTF-8 bytes
        offset = getattr(node, "col_offset", 0)
        if isinstance(node, ast.BinOp):
            gap = data[node.left.end_col_offset:node.right.col_offset]
            symbol = _SYMBOLS.get(type(node.op), b"")
            offset = node.left.end_col_offset + max(gap.find(symbol), 0)
        return _located(cls, self.text, len(data[:offset].decode(errors="ignore")), message)

    def source(self, node):
        return ast.get_source_segment(self.text, node) or ast.unparse(node)

    def shape_error(self, node, what, *parts, hint=""):
        described = " and ".join(f"{self.source(p)} is {_shape(v)}" for p, v in parts)
        hint = f" ({hint})" if hint else ""
        return self.error(node, f"{what} in {self.source(node)}: {described}{hint}", ShapeError)

    # driver ---------------------------------------------------------------
    def run(self):
        text = self.text
        if len(text) > MAX_LENGTH:
            raise _located(ParseError, text[:60], 0,
                           f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}")
        if not text.strip():
            raise _located(ParseError, text, 0, "empty expression")
        if "\n" in text or "\r" in text:
            raise _located(ParseError, text, max(text.find("\n"), text.find("\r")),
                           "an expression is one line")
        try:
            tree = ast.parse(self.rows_marked(text), mode="eval")
        except SyntaxError as e:
            raise _located(ParseError, text, (e.offset or 1) - 1, f"syntax error ({e.msg})") from None
        except (RecursionError, MemoryError, ValueError) as e:
            raise _located(ParseError, text, 0, f"expression is not readable ({type(e).__name__})") from None
        try:
            return self.visit(tree.body)
        except RecursionError:
            raise _located(ParseError, self.text, 0, "expression is nested too deeply") from None

    def rows_marked(self, text):
        """``[a, b; c, d]``: a ``;`` inside brackets separates rows. Python has no such syntax, so it is
        read as ``|`` (one character: every column stays where it is), which ``visit_List`` splits on;
        ``self.row_breaks`` holds their offsets, so a ``|`` the user typed is still refused."""
        out, depth, self.row_breaks = [], 0, set()
        for k, ch in enumerate(text):
            depth += (ch == "[") - (ch == "]")
            if ch == ";" and depth > 0:
                self.row_breaks.add(len(text[:k].encode()))
                ch = "|"
            out.append(ch)
        return "".join(out)

    def visit(self, node):
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise self.error(node, f"{_describe(node)} is not part of the expression grammar")
        return method(node)

    # atoms ----------------------------------------------------------------
    def visit_Name(self, node):
        name = node.id
        if name in FUNCTIONS:
            raise self.error(node, f"{name} is a function; call it as {name}(...)")
        if self.source(node) != name or not _IDENTIFIER.match(name):
            raise self.error(node, f"{self.source(node)!r} is not a valid name (ASCII letters, digits, _)")
        if name not in self.space:
            raise self.error(node, f"undeclared name {name!r}; declare it with a shape "
                                   f"(--shape {name}=ROWS,COLS) or as a scalar (--scalar {name})")
        return self.space[name]

    def visit_Constant(self, node):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(node, f"{_describe(node)} is not part of the expression grammar; "
                                   "only integers and decimals are numbers")
        if isinstance(value, int):
            if value.bit_length() > 3.33 * limits.MAX_NUMBER_DIGITS:
                raise self.error(node, f"the number has more than symcalc.limits.MAX_NUMBER_DIGITS = "
                                       f"{limits.MAX_NUMBER_DIGITS} digits", ParseLimitError)
            return sp.Integer(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise self.error(node, "number is not finite")
        q = Fraction(repr(value))
        return sp.Rational(q.numerator, q.denominator)

    def visit_List(self, node):
        """An explicit matrix of scalars: ``[a; b]`` is a column, ``[a, b]`` a row, ``[a, b; c, d]``
        (or ``[[a, b], [c, d]]``) 2 x 2; a 1 x 1 matrix entry counts as its scalar."""
        rows = [[]]
        for elt in node.elts:
            rows[-1:] = self.split_rows(elt, rows[-1])
        if len(rows) == 1 and rows[0] and all(isinstance(e, ast.List) for e in rows[0]):
            rows = [list(e.elts) for e in rows[0]]  # [[a, b], [c, d]]
        if not rows[0] or any(len(r) != len(rows[0]) for r in rows):
            raise self.error(node, "an explicit matrix has rows of one length, as [a, b; c, d] "
                                   "(a column: [a; b])")
        entries = []
        for row in rows:
            entries.append([])
            for elt in row:
                v = self.visit(elt)
                if is_matrix(v) and v.shape == (1, 1):
                    v = sp.Trace(v)
                if is_matrix(v):
                    raise self.shape_error(elt, "an entry of an explicit matrix is a scalar", (elt, v))
                entries[-1].append(v)
        return sp.ImmutableMatrix(entries)

    def split_rows(self, elt, row):
        """``row`` extended by ``elt``, split where ``elt`` holds row breaks: a list of rows."""
        if isinstance(elt, ast.BinOp) and isinstance(elt.op, ast.BitOr) and self.is_row_break(elt):
            head = self.split_rows(elt.left, row)
            return head + self.split_rows(elt.right, [])
        return [row + [elt]]

    def is_row_break(self, node):
        gap = self.text.encode()[node.left.end_col_offset:node.right.col_offset]
        return node.left.end_col_offset + gap.find(b";") in self.row_breaks

    # operators ------------------------------------------------------------
    def visit_UnaryOp(self, node):
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            if self.written and not is_matrix(operand):
                return sp.Mul(-1, operand, evaluate=False)
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        raise self.error(node, f"operator {_OPS.get(type(node.op), '?')} is not part of the grammar")

    def visit_BinOp(self, node):
        op = type(node.op)
        if op not in (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.MatMult, ast.Pow):
            raise self.error(node, f"operator {_OPS.get(op, type(node.op).__name__)} is not part of "
                                   "the grammar (use + - * / @ **)")
        a, b = self.visit(node.left), self.visit(node.right)
        left, right = node.left, node.right
        if self.written and not is_matrix(a) and not is_matrix(b) and op is not ast.MatMult:
            return self.as_written(node, op, a, b)
        if op in (ast.Add, ast.Sub):
            a, b = self.scalar_pair(a, b)
            if is_matrix(a) != is_matrix(b):  # 1 - y: the scalar is added to every entry
                a, b = (a, b * sp.OneMatrix(*a.shape)) if is_matrix(a) else (a * sp.OneMatrix(*b.shape), b)
            if is_matrix(a) and a.shape != b.shape:
                raise self.shape_error(node, "a sum needs equal shapes", (left, a), (right, b))
            return a + b if op is ast.Add else a - b
        if op is ast.Mult:
            if is_matrix(a) and is_matrix(b):
                if a.cols != b.rows:
                    if a.shape == (1, 1):
                        return sp.Trace(a) * b
                    if b.shape == (1, 1):
                        return a * sp.Trace(b)
                    raise self.shape_error(node, "a matrix product needs columns of the left = rows "
                                                 "of the right", (left, a), (right, b))
            return a * b
        if op is ast.MatMult:
            if not (is_matrix(a) and is_matrix(b)):
                raise self.shape_error(node, "@ is the matrix product of two matrices; use * to "
                                             "scale", (left, a), (right, b))
            if a.cols != b.rows:
                raise self.shape_error(node, "a matrix product needs columns of the left = rows of "
                                             "the right", (left, a), (right, b))
            return a * b
        if op is ast.Div:
            if is_matrix(b) and b.shape != (1, 1):  # w / x: entry by entry, w ⊘ x = w ⊙ x^{∘−1}
                if is_matrix(a) and a.shape == (1, 1):
                    a = sp.Trace(a)
                if is_matrix(a) and a.shape != b.shape:
                    raise self.shape_error(node, "entrywise division needs equal shapes (a scalar "
                                                 "divided by a matrix is entry by entry too; for a "
                                                 "matrix inverse use inv(...))", (left, a), (right, b))
                inverse = sp.HadamardPower(b, -1)
                return sp.HadamardProduct(a, inverse) if is_matrix(a) else a * inverse
            if is_matrix(b):
                b = sp.Trace(b)
            if b == 0:
                raise self.error(node, f"division by zero in {self.source(node)}")
            return a / b
        return self.power(node, a, b)

    def as_written(self, node, op, a, b):
        """Scalar arithmetic left unevaluated (``written=True``)."""
        if op is ast.Add:
            return sp.Add(a, b, evaluate=False)
        if op is ast.Sub:
            return sp.Add(a, sp.Mul(-1, b, evaluate=False), evaluate=False)
        if op is ast.Mult:
            return sp.Mul(a, b, evaluate=False)
        if op is ast.Div:
            if b == 0:
                raise self.error(node, f"division by zero in {self.source(node)}")
            inverse = sp.Pow(b, -1, evaluate=False)
            return inverse if a == 1 else sp.Mul(a, inverse, evaluate=False)
        self.power(node, a, b)  # its checks
        return sp.Pow(a, b, evaluate=False)

    def power(self, node, a, b):
        if is_matrix(b):
            raise self.shape_error(node, "an exponent must be a scalar", (node.right, b))
        if not is_matrix(a):
            if a == 0 and b.is_negative:
                raise self.error(node, f"division by zero in {self.source(node)}")
            if a.is_Number and b.is_Number and abs(b) > 64:
                raise self.error(node, f"exponent {b} is too large for a number")
            if a.is_Rational and b.is_Number and _digits(a) * abs(b) > limits.MAX_NUMBER_DIGITS:
                raise self.error(node, f"{self.source(node)} has about {int(_digits(a) * abs(b))} "
                                       f"digits, beyond the limit symcalc.limits.MAX_NUMBER_DIGITS = "
                                       f"{limits.MAX_NUMBER_DIGITS}", ParseLimitError)
            return a ** b
        if not b.is_Integer:
            if a.shape == (1, 1):
                return sp.Trace(a) ** b
            raise self.error(node, f"a matrix power needs an integer exponent, not {self.source(node.right)}")
        if a.rows != a.cols:
            base = self.source(node.left)
            raise self.shape_error(node, "a matrix power needs a square matrix", (node.left, a),
                                   hint=f"entry by entry, write hadamard({base}, {base})")
        if b == 0:
            return sp.Identity(a.rows)
        power = sp.MatPow(a, b).doit() if b < 0 else a ** b
        k = power.exp if isinstance(power, sp.MatPow) else b  # (A**1000)**1000 is A**1000000
        if abs(b) > limits.MAX_MATRIX_POWER or abs(k) > limits.MAX_MATRIX_POWER:
            raise self.error(node, f"the matrix power {self.source(node)} (exponent {k}) is beyond the "
                                   f"limit symcalc.limits.MAX_MATRIX_POWER = ±{limits.MAX_MATRIX_POWER} "
                                   "(the derivative's cost grows with the exponent)", ParseLimitError)
        return power

    @staticmethod
    def scalar_pair(a, b):
        """A 1 x 1 matrix next to a scalar is used as that scalar."""
        if is_matrix(a) and not is_matrix(b) and a.shape == (1, 1):
            a = sp.Trace(a)
        if is_matrix(b) and not is_matrix(a) and b.shape == (1, 1):
            b = sp.Trace(b)
        return a, b

    # postfix --------------------------------------------------------------
    def visit_Attribute(self, node):
        if node.attr != "T":
            raise self.error(node, f"attribute .{node.attr} is not part of the grammar; only .T "
                                   "(transpose) is")
        value = self.visit(node.value)
        return value.T if is_matrix(value) else value

    def visit_Subscript(self, node):
        value = self.visit(node.value)
        index = node.slice
        if not is_matrix(value):
            raise self.error(node, f"{self.source(node.value)} is a scalar and has no entries")
        if not (isinstance(index, ast.Tuple) and len(index.elts) == 2
                and all(isinstance(i, ast.Constant) and type(i.value) is int for i in index.elts)):
            raise self.error(node, "an entry is M[i, j] with two integer literals (0-based)")
        i, j = (e.value for e in index.elts)
        for k, size, what in ((i, value.rows, "row"), (j, value.cols, "column")):
            if k < 0 or (size.is_Integer and k >= size):
                raise self.error(node, f"{what} index {k} is outside 0..{size - 1} in {self.source(node)}",
                                 ShapeError)
        return value[i, j]

    # functions ------------------------------------------------------------
    def visit_Call(self, node):
        if not isinstance(node.func, ast.Name):
            raise self.error(node, f"only the grammar's functions can be called, not "
                                   f"{self.source(node.func)}")
        name = node.func.id
        if name == CONV1D:
            return self.conv1d(node)
        if name not in FUNCTIONS:
            raise self.error(node, f"unknown function {name!r}; the functions are "
                                   + ", ".join(sorted({*FUNCTIONS, CONV1D})))
        if name in KEYWORDS and any(kw.arg != "axis" for kw in node.keywords) or name in ("layer_norm", "std"):
            return self.keyword_call(node, name)
        axis = self.axis_keyword(node, name)
        if (node.keywords and axis is None) or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.error(node, f"{name} takes positional arguments only")
        low, high = FUNCTIONS[name]
        count = len(node.args)
        if count < low or (high is not None and count > high):
            wanted = str(low) if low == high else (f"{low} or {high}" if high else f"at least {low}")
            raise self.error(node, f"{name} takes {wanted} argument{'s' if wanted != '1' else ''}, "
                                   f"got {count}")
        args = [self.visit(a) for a in node.args]
        try:
            if axis is not None:
                self.matrix_arg(node, 0, args, name)
                return getattr(F, name)(args[0], axis=axis)
            return self.apply(node, name, args)
        except ShapeError as e:
            if getattr(e, "offset", None) is not None:
                raise
            raise self.error(node, f"in {self.source(node)}: {e}", ShapeError) from None

    def keyword_call(self, node, name):
        """layer_norm(X, axis=1, eps=epsilon), std(X, axis=0), softmax(S, axis=1, causal=True)."""
        allowed = KEYWORDS[name]
        usage = f"{name}(Z, " + ", ".join(f"{k}=..." for k in allowed) + ")"
        if len(node.args) != 1 or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.error(node, f"{name} takes one matrix and keywords, as {usage}")
        options = {}
        for kw in node.keywords:
            if kw.arg not in allowed or kw.arg in options:
                raise self.error(node, f"{name} takes the keywords {', '.join(allowed)}, as {usage}")
            value = kw.value
            if kw.arg == "axis":
                if not (isinstance(value, ast.Constant) and type(value.value) is int and value.value in (0, 1)):
                    raise self.error(node, f"{name}: axis is 0 (each column) or 1 (each row)")
                options["axis"] = value.value
            elif kw.arg == "causal":
                if not (isinstance(value, ast.Constant) and type(value.value) is bool):
                    raise self.error(node, f"{name}: causal is True or False")
                options["causal"] = value.value
            else:
                eps = self.visit(value)
                if is_matrix(eps):
                    raise self.shape_error(node, f"{name}'s eps is a scalar", (value, eps))
                options["eps"] = eps
        args = [self.visit(node.args[0])]
        self.matrix_arg(node, 0, args, name)
        try:
            return getattr(F, name)(args[0], **options)
        except (ShapeError, ValueError) as e:
            raise self.error(node, f"in {self.source(node)}: {e}",
                             ShapeError if isinstance(e, ShapeError) else ParseError) from None

    def conv1d(self, node):
        """conv1d(X, W1, ..., Wk, stride=s, padding=p): integer (or 'same', 'valid') keywords only."""
        options = {}
        for kw in node.keywords:
            value = kw.value
            literal = isinstance(value, ast.Constant) and (
                type(value.value) is int or (kw.arg == "padding" and value.value in ("same", "valid")))
            if kw.arg not in ("stride", "padding") or kw.arg in options or not literal:
                raise self.error(node, "conv1d takes the input, its taps, and optionally stride=INTEGER and "
                                       "padding=INTEGER (or 'same', 'valid'), as conv1d(X, W1, W2, W3, stride=2)")
            options[kw.arg] = value.value
        if len(node.args) < 2 or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.error(node, "conv1d takes the input and at least one tap: conv1d(X, W1, W2, W3)")
        args = [self.visit(a) for a in node.args]
        self.matrix_arg(node, 0, args, "conv1d")
        try:
            return conv1d(args[0], args[1:], **options)
        except ShapeError as e:
            raise self.error(node, f"in {self.source(node)}: {e}", ShapeError) from None

    def axis_keyword(self, node, name):
        """``axis=0`` or ``axis=1`` of sum, mean, logsumexp and softmax, else None."""
        if name not in AXIS_FUNCTIONS or not node.keywords:
            return None
        (kw, *rest) = node.keywords
        value = kw.value
        if rest or kw.arg != "axis" or not (isinstance(value, ast.Constant) and type(value.value) is int
                                            and value.value in (0, 1)) or len(node.args) != 1:
            raise self.error(node, f"{name} takes a matrix and optionally axis=0 (each column) or axis=1 "
                                   f"(each row), as {name}(Z, axis=1)")
        return value.value

    def matrix_arg(self, node, k, args, name):
        if not is_matrix(args[k]):
            raise self.shape_error(node, f"{name} takes a matrix", (node.args[k], args[k]))
        return args[k]

    def square_arg(self, node, args, name):
        A = self.matrix_arg(node, 0, args, name)
        if A.rows != A.cols:
            raise self.shape_error(node, f"{name} needs a square matrix", (node.args[0], A))
        return A

    def same_shapes(self, node, args, name):
        mats = [self.matrix_arg(node, k, args, name) for k in range(len(args))]
        for k, m in enumerate(mats[1:], 1):
            if m.shape != mats[0].shape:
                raise self.shape_error(node, f"{name} needs equal shapes", (node.args[0], mats[0]),
                                       (node.args[k], m))
        return mats

    def apply(self, node, name, args):
        if name in ELEMENTWISE:
            return ELEMENTWISE[name](args[0])
        if name in ("max", "min"):
            return self.extremum(node, name, args)
        if name == "leaky_relu":
            if len(args) == 2 and is_matrix(args[1]):
                raise self.shape_error(node, "leaky_relu's alpha is a scalar", (node.args[1], args[1]))
            return F.leaky_relu(*args)
        if name == "tr":
            return sp.Trace(self.square_arg(node, args, name))
        if name == "det":
            return sp.Determinant(self.square_arg(node, args, name))
        if name == "logdet":
            return sp.log(sp.Determinant(self.square_arg(node, args, name)))
        if name == "inv":
            return sp.Inverse(self.square_arg(node, args, name)).doit()
        if name in ("sum", "mean", "softmax", "logsumexp", "norm2", "frobenius2"):
            self.matrix_arg(node, 0, args, name)
            return getattr(F, name)(args[0])
        if name == "hadamard":
            return sp.HadamardProduct(*self.same_shapes(node, args, name))
        if name == "kron":
            return sp.KroneckerProduct(*(self.matrix_arg(node, k, args, name) for k in (0, 1)))
        if name == "diag":
            v = self.matrix_arg(node, 0, args, name)
            if v.cols != 1:
                raise self.shape_error(node, "diag takes a column vector", (node.args[0], v))
            return sp.DiagMatrix(v)
        if name in ("mse", "bce", "cross_entropy"):
            return getattr(F, name)(*self.same_shapes(node, args, name))
        sizes = [self.size_arg(node, k, args) for k in range(len(args))]
        if name == "eye":
            return sp.Identity(sizes[0])
        return (sp.OneMatrix if name == "ones" else sp.ZeroMatrix)(*sizes)

    def extremum(self, node, name, args):
        """max(0, w.T*x + b) of scalars (1 x 1 matrices count); with one matrix, entry by entry."""
        f = sp.Max if name == "max" else sp.Min
        args = [sp.Trace(a) if is_matrix(a) and a.shape == (1, 1) else a for a in args]
        mats = [k for k, a in enumerate(args) if is_matrix(a)]
        if not mats:
            return f(*args)
        if len(mats) > 1:
            raise self.shape_error(node, f"{name} takes scalars, or one matrix and scalars (entry by entry)",
                                   *[(node.args[k], args[k]) for k in mats[:2]])
        Z = args[mats[0]]
        return F.elementwise(f(*[F.ELEMENT if k == mats[0] else a for k, a in enumerate(args)]), Z)

    def size_arg(self, node, k, args):
        s = args[k]
        if isinstance(s, sp.Integer) and s > 0:
            return s
        if isinstance(s, sp.Symbol) and s.is_integer and s.is_positive:
            return s
        raise self.error(node.args[k], f"{self.source(node.args[k])} is not a size (a positive "
                                       "integer or a declared size name)")


# ---------------------------------------------------------------------- helpers

_OPS = {ast.Mod: "%", ast.FloorDiv: "//", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|",
        ast.BitXor: "^", ast.BitAnd: "&", ast.Invert: "~", ast.Not: "not"}

_SYMBOLS = {ast.Add: b"+", ast.Sub: b"-", ast.Mult: b"*", ast.Div: b"/", ast.MatMult: b"@",
            ast.Pow: b"**", ast.Mod: b"%", ast.FloorDiv: b"//", ast.LShift: b"<<", ast.RShift: b">>",
            ast.BitOr: b"|", ast.BitXor: b"^", ast.BitAnd: b"&"}

_KINDS = {
    ast.Lambda: "a lambda", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a comprehension", ast.List: "a list",
    ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set", ast.Compare: "a comparison",
    ast.BoolOp: "a boolean operator", ast.IfExp: "a conditional expression", ast.Starred: "a *argument",
    ast.JoinedStr: "an f-string", ast.NamedExpr: "an assignment", ast.Await: "await",
    ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "a slice",
}


class ParseLimitError(ParseError, limits.LimitError):
    """Text beyond a limit of ``symcalc.limits``: a ParseError located in the text that is also the
    UnsupportedError every exceeded limit raises."""


def _digits(q) -> float:
    """Decimal digits of a rational's numerator and denominator together (at least 1)."""
    q = sp.Rational(q)
    return max(1.0, sum(math.log10(abs(int(k))) + 1 for k in (q.p, q.q) if k != 0))


def _describe(node):
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            return "a string"
        if isinstance(node.value, bytes):
            return "a bytes literal"
        return f"the constant {node.value!r}"
    return _KINDS.get(type(node), f"a {type(node).__name__} node")


def _located(cls, text, offset, message):
    """An error whose one-line message gives the column, with ``.caret`` for a two-line display."""
    offset = max(0, min(offset, len(text)))
    err = cls(f"column {offset + 1}: {message}")
    err.text = text
    err.offset = offset
    err.column = offset + 1
    shown = text.replace("\r", " ").replace("\n", " ")
    err.caret = f"{shown}\n{' ' * offset}^"
    return err
