"""One table of rule cases: every operation of issue 2, every row of the layout table (DESIGN §2).

Each case is checked against the independent oracle (central finite differences) in both layouts at
two rectangular size configurations, and against its textbook form where issue 2 states one.
Cases are built with symbolic sizes (the engine's real use) unless marked concrete; the oracle
substitutes the sizes.
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.matexpr import MatrixExpr

import symcalc.functions as F
from symcalc.diff import diff
from symcalc.errors import LayoutError, ShapeError, SymcalcError, UnsupportedError

from .common import LAYOUTS, SIZES, M, assert_derivative, m, n, p, q, same_form

E = F.ELEMENT
SIG = F.Sigmoid(E)
d = sp.Dummy("d", real=True)  # a user's own Lambda variable
c = sp.Symbol("c", real=True)  # a scalar variable


@dataclass
class Case:
    build: Callable  # (m, n, p, q) -> (expr, wrt) or (expr, wrt, denominator-layout textbook form)
    concrete: bool = False  # build with integer sizes (Kronecker, arrays)
    vec: bool = False
    domains: dict | None = None
    form_numerator: Callable | None = None  # (m, n, p, q) -> numerator-layout textbook form


def case(name, build, **kw):
    return pytest.param(Case(build, **kw), id=name)


def weighted(f):
    """u^T f(X) v wrt X: a scalar that sees every entry of f(X) with a different weight."""
    def build(m, n, p, q):
        u, X, v = M("u", m), M("X", m, n), M("v", n)
        return u.T * f(X) * v, X
    return build


def least_squares(m, n, p, q):
    X, y, theta = M("X", m, n), M("y", m), M("theta", n)
    r = y - X * theta
    return r.T * r, theta, sp.MatMul(-2, X.T, y - X * theta)


def sigmoid_layer(m, n, p, q):
    w, W, x, b = M("w", m), M("W", m, n), M("x", n), M("b", m)
    z = W * x + b
    s = F.sigmoid(z)
    return w.T * s, W, sp.HadamardProduct(w, s, sp.OneMatrix(m, 1) - s) * x.T


def logistic_loss(m, n, p, q):
    X, w, y = M("X", m, n), M("w", n), M("y", m)
    loss = F.sum(F.log(sp.OneMatrix(m, 1) + F.exp(X * w))) - y.T * X * w
    return loss, w, X.T * (F.sigmoid(X * w) - y)


def softmax_cross_entropy(m, n, p, q):
    z, y = M("z", m), F.OneHot("y", m, 1)
    return -y.T * F.log(F.softmax(z)), z, F.softmax(z) - y


CASES = [
    # ---- MatMul
    case("matmul tr(AXB)", lambda m, n, p, q: (
        sp.Trace(M("A", m, n) * M("X", n, p) * M("B", p, m)), M("X", n, p),
        M("A", m, n).T * M("B", p, m).T)),
    case("matmul u'Xv", lambda m, n, p, q: (
        M("u", m).T * M("X", m, n) * M("v", n), M("X", m, n), M("u", m) * M("v", n).T)),
    case("matmul u'Ax wrt x", lambda m, n, p, q: (
        M("u", m).T * M("A", m, n) * M("x", n), M("x", n), M("A", m, n).T * M("u", m))),
    case("matmul long chain", lambda m, n, p, q: (
        M("u", p).T * M("A", p, m) * M("X", m, n) * M("B", n, q) * M("v", q), M("X", m, n))),
    case("least squares", least_squares),
    case("quadratic x'Ax", lambda m, n, p, q: (
        M("x", n).T * M("A", n, n) * M("x", n), M("x", n),
        (M("A", n, n) + M("A", n, n).T) * M("x", n))),
    case("quadratic symmetric", lambda m, n, p, q: (
        M("x", n).T * F.SymmetricMatrix("S", n) * M("x", n), M("x", n),
        2 * F.SymmetricMatrix("S", n) * M("x", n))),
    # ---- MatAdd, scalar multiples, scalar symbols
    case("matadd u'(AX + C)v", lambda m, n, p, q: (
        M("u", m).T * (M("A", m, n) * M("X", n, p) + M("C", m, p)) * M("v", p), M("X", n, p),
        M("A", m, n).T * M("u", m) * M("v", p).T)),
    case("matadd X twice", lambda m, n, p, q: (
        M("u", m).T * (M("X", m, n) + M("X", m, n) * M("B", n, n)) * M("v", n), M("X", m, n))),
    case("scalar multiple 3 tr(AX)", lambda m, n, p, q: (
        3 * sp.Trace(M("A", n, m) * M("X", m, n)), M("X", m, n), 3 * M("A", n, m).T)),
    case("scalar symbol c u'Xv", lambda m, n, p, q: (
        c * M("u", m).T * M("X", m, n) * M("v", n), M("X", m, n),
        c * M("u", m) * M("v", n).T)),
    case("scalar by scalar c^2 tr(AX)", lambda m, n, p, q: (
        c**2 * sp.Trace(M("A", n, m) * M("X", m, n)), c)),
    case("scalar by scalar exp(c) c^2", lambda m, n, p, q: (sp.exp(c) * c**2, c)),
    case("vector by scalar", lambda m, n, p, q: (c * M("x", m) + c**2 * M("y", m), c)),
    case("matrix by scalar", lambda m, n, p, q: (
        c * M("A", m, n) + sp.exp(c) * M("B", m, n) + F.sigmoid(c * M("C", m, n)), c)),
    # ---- Transpose
    case("transpose u'X'v", lambda m, n, p, q: (
        M("u", n).T * M("X", m, n).T * M("v", m), M("X", m, n), M("v", m) * M("u", n).T)),
    case("transpose tr(AX')", lambda m, n, p, q: (
        sp.Trace(M("A", m, n) * M("X", m, n).T), M("X", m, n), M("A", m, n))),
    case("transpose of product", lambda m, n, p, q: (
        M("u", n).T * (M("A", m, p) * M("X", p, n)).T * M("v", m), M("X", p, n))),
    # ---- Inverse and integer powers
    case("inverse tr(Y^-1)", lambda m, n, p, q: (sp.Trace(M("Y", n, n).I), M("Y", n, n))),
    case("inverse u'Y^-1v", lambda m, n, p, q: (
        M("u", n).T * M("Y", n, n).I * M("v", n), M("Y", n, n))),
    case("inverse of gram", lambda m, n, p, q: (
        M("u", n).T * (M("X", p, n).T * M("X", p, n)).I * M("u", n), M("X", p, n))),
    case("inverse of Y + I", lambda m, n, p, q: (
        sp.Trace((M("Y", n, n) + sp.Identity(n)).I * M("A", n, n)), M("Y", n, n))),
    case("matpow tr(Y^3)", lambda m, n, p, q: (
        sp.Trace(M("Y", n, n) ** 3), M("Y", n, n), 3 * (M("Y", n, n) ** 2).T)),
    case("matpow u'Y^2v", lambda m, n, p, q: (
        M("u", n).T * M("Y", n, n) ** 2 * M("v", n), M("Y", n, n))),
    case("matpow Y^-1", lambda m, n, p, q: (
        M("u", n).T * M("Y", n, n) ** -1 * M("v", n), M("Y", n, n))),
    case("matpow (x'x)^3, a 1 x 1 power", lambda m, n, p, q: (
        (M("x", n).T * M("x", n)) ** 3, M("x", n), 6 * sp.Trace(M("x", n).T * M("x", n)) ** 2 * M("x", n))),
    case("matpow tr(Y^-2)", lambda m, n, p, q: (sp.Trace(M("Y", n, n) ** -2), M("Y", n, n))),
    case("matpow of gram", lambda m, n, p, q: (
        sp.Trace((M("X", m, n).T * M("X", m, n)) ** 2), M("X", m, n))),
    # ---- Trace, Determinant, log det
    case("trace tr(XX')", lambda m, n, p, q: (
        sp.Trace(M("X", m, n) * M("X", m, n).T), M("X", m, n), 2 * M("X", m, n))),
    case("trace of 1x1", lambda m, n, p, q: (
        sp.Trace(M("u", m).T * M("X", m, n) * M("v", n)), M("X", m, n))),
    case("det", lambda m, n, p, q: (
        sp.Determinant(M("Y", n, n)), M("Y", n, n),
        sp.Determinant(M("Y", n, n)) * M("Y", n, n).I.T)),
    case("det of gram", lambda m, n, p, q: (
        sp.Determinant(M("X", p, n).T * M("X", p, n)), M("X", p, n))),
    case("log det", lambda m, n, p, q: (
        sp.log(sp.Determinant(M("Y", n, n))), M("Y", n, n), M("Y", n, n).I.T)),
    case("log det of gram", lambda m, n, p, q: (
        sp.log(sp.Determinant(M("X", p, n).T * M("X", p, n))), M("X", p, n))),
    case("log det Y + X'X", lambda m, n, p, q: (
        sp.log(sp.Determinant(M("Y", n, n) + M("X", m, n).T * M("X", m, n))), M("X", m, n))),
    # ---- Hadamard product and power
    case("hadamard u'(X.C)v", weighted(lambda X: sp.HadamardProduct(X, M("C", *X.shape)))),
    case("hadamard X.X", lambda m, n, p, q: (
        F.sum(sp.HadamardProduct(M("X", m, n), M("X", m, n))), M("X", m, n))),
    case("hadamard vectors", lambda m, n, p, q: (
        sp.HadamardProduct(M("x", m), M("y", m)).T * M("z", m), M("x", m))),
    case("hadamard power 2", weighted(lambda X: sp.HadamardPower(X, 2))),
    case("hadamard power 3", weighted(lambda X: sp.HadamardPower(X, 3))),
    case("hadamard power -1", weighted(lambda X: sp.HadamardPower(X, -1))),
    case("hadamard power 1/2", weighted(lambda X: sp.HadamardPower(X, sp.Rational(1, 2)))),
    # ---- Kronecker product (concrete sizes)
    case("kronecker u'(A kron X)v", lambda m, n, p, q: (
        M("u", m * p).T * sp.KroneckerProduct(M("A", m, n), M("X", p, q)) * M("v", n * q),
        M("X", p, q)), concrete=True),
    case("kronecker wrt left", lambda m, n, p, q: (
        M("u", m * p).T * sp.KroneckerProduct(M("A", m, n), M("X", p, q)) * M("v", n * q),
        M("A", m, n)), concrete=True),
    case("kronecker X kron X", lambda m, n, p, q: (
        F.sum(sp.KroneckerProduct(M("X", m, n), M("X", m, n))), M("X", m, n)), concrete=True),
    # ---- Identity, ZeroMatrix, OneMatrix
    case("identity tr(Y + I)", lambda m, n, p, q: (
        sp.Trace(M("Y", n, n) + sp.Identity(n)) * sp.Trace(M("Y", n, n)), M("Y", n, n))),
    case("identity u'(Y - 2I)^2 v", lambda m, n, p, q: (
        M("u", n).T * (M("Y", n, n) - 2 * sp.Identity(n)) ** 2 * M("v", n), M("Y", n, n))),
    case("onematrix 1'X1", lambda m, n, p, q: (
        sp.OneMatrix(1, m) * M("X", m, n) * sp.OneMatrix(n, 1), M("X", m, n),
        sp.OneMatrix(m, n))),
    case("onematrix shift", weighted(lambda X: sp.HadamardPower(X + sp.OneMatrix(*X.shape), 2))),
    case("zeromatrix", weighted(lambda X: X + sp.ZeroMatrix(*X.shape))),
    # ---- 1x1 matrices and M[0, 0] as scalars
    case("1x1 element (u'Xv)[0,0]", lambda m, n, p, q: (
        (M("u", m).T * M("X", m, n) * M("v", n))[0, 0] ** 2, M("X", m, n))),
    case("element X[0,1] (concrete)", lambda m, n, p, q: (
        M("X", m, n)[0, 1] * M("X", m, n)[1, 0], M("X", m, n)), concrete=True),
    case("1x1 times 1x1", lambda m, n, p, q: (
        (M("u", m).T * M("X", m, n) * M("v", n)) * (M("u", m).T * M("X", m, n) * M("v", n)),
        M("X", m, n))),
    case("1x1 scaling a matrix", lambda m, n, p, q: (
        M("a", m).T * (sp.Trace(M("x", n).T * M("x", n)) * M("A", m, n)) * M("x", n), M("x", n))),
    # ---- scalar functions of scalars
    case("exp(x'x)", lambda m, n, p, q: (sp.exp(M("x", n).T * M("x", n)), M("x", n))),
    case("log tr(Y)", lambda m, n, p, q: (sp.log(sp.Trace(M("Y", n, n))), M("Y", n, n))),
    case("sqrt tr(X'X)", lambda m, n, p, q: (
        sp.sqrt(sp.Trace(M("X", m, n).T * M("X", m, n))), M("X", m, n))),
    case("tr(AX)^3", lambda m, n, p, q: (
        sp.Trace(M("A", n, m) * M("X", m, n)) ** 3, M("X", m, n))),
    case("sum and product of tr, det", lambda m, n, p, q: (
        sp.Trace(M("Y", n, n)) ** 2 + sp.Determinant(M("Y", n, n)) * sp.Trace(M("Y", n, n))
        + sp.Determinant(M("Y", n, n)) ** 2, M("Y", n, n))),
    case("sin of 1x1", lambda m, n, p, q: (
        sp.sin(M("u", m).T * M("X", m, n) * M("v", n)), M("X", m, n))),
    case("quotient of traces", lambda m, n, p, q: (
        sp.Trace(M("A", n, m) * M("X", m, n)) / sp.Trace(M("X", m, n).T * M("X", m, n)),
        M("X", m, n))),
    # ---- elementwise functions
    case("elementwise exp", weighted(F.exp)),
    case("elementwise log", weighted(F.log)),
    case("elementwise sqrt", weighted(F.sqrt)),
    case("elementwise sin", weighted(F.sin)),
    case("elementwise cos", weighted(F.cos)),
    case("elementwise tanh", weighted(F.tanh)),
    case("elementwise sigmoid", weighted(F.sigmoid)),
    case("elementwise relu", weighted(F.relu)),
    case("elementwise leaky_relu", weighted(lambda X: F.leaky_relu(X, sp.Rational(1, 10)))),
    case("elementwise leaky_relu alpha symbol", weighted(lambda X: F.leaky_relu(X, c))),
    case("elementwise leaky_relu wrt alpha", lambda m, n, p, q: (
        F.sum(F.leaky_relu(M("X", m, n), c)), c)),
    case("elementwise softplus", weighted(F.softplus)),
    case("elementwise of product", weighted(lambda X: F.tanh(X * M("B", X.shape[1], X.shape[1])))),
    case("elementwise nested log sigmoid", weighted(lambda X: F.log(F.sigmoid(X)))),
    case("elementwise vector by vector", lambda m, n, p, q: (
        F.sigmoid(M("W", m, n) * M("x", n)), M("x", n))),
    case("sigmoid layer wrt W", sigmoid_layer),
    # a vector scaled by a 1 x 1 function of the variable: the Jacobian's scalar part is aᵀx, not
    # tr(a) tr(xᵀ) (the factors right of the column multiply to a 1 x 1, each one need not be 1 x 1)
    case("vector times a'x by vector", lambda m, n, p, q: (
        M("x", n) * (M("a", n).T * M("x", n)), M("x", n))),
    case("Wx times a'b by vector", lambda m, n, p, q: (
        M("W", m, n) * M("x", n) * (M("a", p).T * M("b", p)), M("x", n))),
    case("sigmoid times a'x by vector", lambda m, n, p, q: (
        F.sigmoid(M("x", n)) * (M("a", n).T * M("x", n)), M("x", n))),
    # ---- scalar max/min (the slides' ReLU neuron max(0, wᵀx + b)) and the hard threshold 1[z ≥ 0]
    case("max(0, w'x + c)", lambda m, n, p, q: (
        sp.Max(0, sp.Trace(M("w", n).T * M("x", n)) + c), M("w", n),
        F.Step(sp.Trace(M("w", n).T * M("x", n)) + c) * M("x", n))),
    case("max(0, w'x + c) by c", lambda m, n, p, q: (
        sp.Max(0, sp.Trace(M("w", n).T * M("x", n)) + c) ** 2, c)),
    case("min(w'x, c, 2 tr X) by X", lambda m, n, p, q: (
        sp.Min(sp.Trace(M("w", n).T * M("X", n, n) * M("x", n)), c, 2 * sp.Trace(M("X", n, n))),
        M("X", n, n))),
    case("elementwise threshold", weighted(lambda X: X + F.threshold(X))),
    case("scalar threshold", lambda m, n, p, q: (
        F.Threshold(sp.Trace(M("w", n).T * M("x", n))) + sp.Trace(M("w", n).T * M("w", n)), M("w", n))),
    # ---- M.applyfunc(f) with a SymPy function or a Lambda
    case("applyfunc exp", weighted(lambda X: X.applyfunc(sp.exp))),
    case("applyfunc tan", weighted(lambda X: X.applyfunc(sp.tan)),
         domains={M("X", m, n): "positive"}),
    case("applyfunc Lambda poly", weighted(lambda X: X.applyfunc(sp.Lambda(d, d**3 + sp.sin(d))))),
    case("applyfunc Lambda Max", weighted(lambda X: X.applyfunc(sp.Lambda(d, sp.Max(0, d))))),
    case("applyfunc Lambda Abs", weighted(lambda X: X.applyfunc(sp.Lambda(d, sp.Abs(d))))),
    case("applyfunc Lambda Heaviside", weighted(
        lambda X: X.applyfunc(sp.Lambda(d, d * sp.Heaviside(d) + d**2)))),
    case("applyfunc Lambda log1p exp", weighted(
        lambda X: X.applyfunc(sp.Lambda(d, sp.log(1 + sp.exp(d)))))),
    # ---- reductions, softmax, logsumexp, norms, losses
    case("sum(X)", lambda m, n, p, q: (F.sum(M("X", m, n)), M("X", m, n), sp.OneMatrix(m, n))),
    case("sum(AX)", lambda m, n, p, q: (F.sum(M("A", m, n) * M("X", n, p)), M("X", n, p))),
    case("mean(X)", lambda m, n, p, q: (F.mean(M("X", m, n)), M("X", m, n))),
    case("mean(sigmoid(AX))", lambda m, n, p, q: (
        F.mean(F.sigmoid(M("A", m, n) * M("X", n, p))), M("X", n, p))),
    case("softmax weighted", lambda m, n, p, q: (M("u", m).T * F.softmax(M("z", m)), M("z", m))),
    case("softmax jacobian", lambda m, n, p, q: (  # symmetric: the same in both layouts
        F.softmax(M("z", m)), M("z", m),
        DiagMatrix(F.softmax(M("z", m))) - F.softmax(M("z", m)) * F.softmax(M("z", m)).T)),
    case("softmax columns cross-entropy", lambda m, n, p, q: (
        F.cross_entropy(F.softmax(M("Z", m, n)), F.OneHot("Y", m, n)), M("Z", m, n))),
    case("softmax cross-entropy", softmax_cross_entropy),
    case("logsumexp(z)", lambda m, n, p, q: (F.logsumexp(M("z", m)), M("z", m), F.softmax(M("z", m)))),
    case("logsumexp(Wx)", lambda m, n, p, q: (
        F.logsumexp(M("W", m, n) * M("x", n)), M("W", m, n))),
    # ---- along an axis: NumPy's convention, axis 0 down each column, axis 1 along each row
    case("sum(X, axis=0)", lambda m, n, p, q: (
        F.sum(F.tanh(M("X", m, n)), axis=0) * M("v", n), M("X", m, n))),
    case("sum(X, axis=1)", lambda m, n, p, q: (
        M("u", m).T * F.sum(M("X", m, n), axis=1), M("X", m, n), M("u", m) * sp.OneMatrix(1, n))),
    case("mean(X, axis=0) and axis=1", lambda m, n, p, q: (
        F.mean(M("X", m, n), axis=0) * M("v", n) + M("u", m).T * F.mean(M("X", m, n), axis=1),
        M("X", m, n))),
    case("logsumexp(X, axis=0)", lambda m, n, p, q: (
        F.logsumexp(M("X", m, n), axis=0) * M("v", n), M("X", m, n))),
    case("logsumexp(X, axis=1)", lambda m, n, p, q: (
        M("u", m).T * F.logsumexp(M("X", m, n), axis=1), M("X", m, n))),
    case("NYU (18): per-sample log-sum-exp, samples as rows", lambda m, n, p, q: (
        F.sum(F.logsumexp(M("Z", m, n), axis=1)) - F.sum(sp.HadamardProduct(F.OneHot("R", m, n, axis=1),
                                                                           M("Z", m, n))),
        M("Z", m, n), F.softmax(M("Z", m, n), axis=1) - F.OneHot("R", m, n, axis=1))),
    case("softmax(X, axis=1) weighted", weighted(lambda X: F.softmax(X, axis=1))),
    case("causal softmax(AX, axis=1) weighted", lambda m, n, p, q: (
        M("u", p).T * F.softmax(M("A", p, m) * M("X", m, n) * M("B", n, p), axis=1, causal=True) * M("v", p),
        M("X", m, n))),
    case("causal softmax(AX, axis=0) weighted", lambda m, n, p, q: (
        M("u", p).T * F.softmax(M("A", p, m) * M("X", m, n) * M("B", n, p), axis=0, causal=True) * M("v", p),
        M("X", m, n))),
    case("layer_norm(X, axis=1, eps) weighted", weighted(lambda X: F.layer_norm(X, axis=1, eps=sp.Rational(1, 10)))),
    case("layer_norm(X, axis=0) weighted", weighted(lambda X: F.layer_norm(X, axis=0))),
    case("std(X, axis=1, eps) weighted", lambda m, n, p, q: (
        M("u", m).T * F.std(M("X", m, n), axis=1, eps=sp.Rational(1, 10)), M("X", m, n))),
    case("softmax(AX, axis=1) of products", lambda m, n, p, q: (
        M("u", p).T * F.softmax(M("A", p, m) * M("X", m, n), axis=1) * M("v", n), M("X", m, n))),
    case("softmax rows cross-entropy", lambda m, n, p, q: (
        F.cross_entropy(F.softmax(M("Z", m, n), axis=1), F.OneHot("Y", m, n, axis=1)), M("Z", m, n),
        F.softmax(M("Z", m, n), axis=1) - F.OneHot("Y", m, n, axis=1))),
    case("softmax columns, targets one-hot by rows transposed", lambda m, n, p, q: (
        F.cross_entropy(F.softmax(M("W", m, p) * M("X", n, p).T), F.OneHot("Y", n, m, axis=1).T), M("W", m, p),
        (F.softmax(M("W", m, p) * M("X", n, p).T) - F.OneHot("Y", n, m, axis=1).T) * M("X", n, p))),
    case("softmax rows, targets one-hot by columns transposed", lambda m, n, p, q: (
        F.cross_entropy(F.softmax(M("Z", n, m), axis=1), F.OneHot("Y", m, n).T), M("Z", n, m),
        F.softmax(M("Z", n, m), axis=1) - F.OneHot("Y", m, n).T)),
    case("softmax of a row, by rows, by a column", lambda m, n, p, q: (
        F.softmax(M("z", m).T, axis=1), M("z", m),
        DiagMatrix(F.softmax(M("z", m))) - F.softmax(M("z", m)) * F.softmax(M("z", m)).T)),
    case("logsumexp of a row, by rows", lambda m, n, p, q: (
        F.logsumexp(M("W", n, m) * M("x", m), axis=0) + F.logsumexp((M("W", n, m) * M("x", m)).T, axis=1),
        M("x", m))),
    case("norm2(x - Ay)", lambda m, n, p, q: (
        F.norm2(M("x", m) - M("A", m, n) * M("y", n)), M("A", m, n))),
    case("norm2 of row", lambda m, n, p, q: (F.norm2(M("u", m).T * M("X", m, n)), M("X", m, n))),
    case("frobenius2(X)", lambda m, n, p, q: (
        F.frobenius2(M("X", m, n)), M("X", m, n), 2 * M("X", m, n))),
    case("frobenius2(AX - C)", lambda m, n, p, q: (
        F.frobenius2(M("A", m, n) * M("X", n, p) - M("C", m, p)), M("X", n, p))),
    case("mse", lambda m, n, p, q: (F.mse(M("A", m, n) * M("x", n), M("y", m)), M("x", n))),
    case("bce", lambda m, n, p, q: (
        F.bce(F.sigmoid(M("W", m, n) * M("x", n)), M("y", m)), M("W", m, n))),
    case("logistic loss", logistic_loss),
    case("logistic loss softplus", lambda m, n, p, q: (
        F.sum(F.softplus(M("X", m, n) * M("w", n))) - M("y", m).T * M("X", m, n) * M("w", n),
        M("w", n))),
    # ---- DiagMatrix
    case("diag u'diag(x)v", lambda m, n, p, q: (
        M("u", m).T * DiagMatrix(M("x", m)) * M("v", m), M("x", m),
        sp.HadamardProduct(M("u", m), M("v", m)))),
    case("diag tr(diag(x)A)", lambda m, n, p, q: (
        sp.Trace(DiagMatrix(M("x", m)) * M("A", m, m) * M("B", m, n) * M("C", n, m)), M("x", m))),
    case("diag vector by vector", lambda m, n, p, q: (
        DiagMatrix(M("x", m)) * M("y", m), M("x", m))),
    # ---- a row by a column (lecture 13: ∂(xᵀB)/∂x = B): an m x n Jacobian like any vector's
    case("row x'B by x", lambda m, n, p, q: (M("x", n).T * M("B", n, m), M("x", n), M("B", n, m)),
         form_numerator=lambda m, n, p, q: M("B", n, m).T),
    case("row sigmoid(x'B) by x", lambda m, n, p, q: (F.sigmoid(M("x", n).T * M("B", n, m)), M("x", n))),
    case("row (Wx)' + c' by x", lambda m, n, p, q: (
        (M("W", m, n) * M("x", n)).T + M("c", m).T, M("x", n), M("W", m, n).T)),
    case("row x'B by x, vec", lambda m, n, p, q: (M("x", n).T * M("B", n, m), M("x", n), M("B", n, m)),
         vec=True),
    # ---- vector and matrix by matrix: arrays (concrete sizes) and vec forms
    case("array AXB", lambda m, n, p, q: (
        M("A", m, n) * M("X", n, p) * M("B", p, q), M("X", n, p)), concrete=True),
    case("array X'", lambda m, n, p, q: (M("X", m, n).T, M("X", m, n)), concrete=True),
    case("array Wx wrt W", lambda m, n, p, q: (M("W", m, n) * M("x", n), M("W", m, n)),
         concrete=True),
    case("array Y^-1", lambda m, n, p, q: (M("Y", n, n).I, M("Y", n, n)), concrete=True),
    case("array sigmoid(X)", lambda m, n, p, q: (F.sigmoid(M("X", m, n)), M("X", m, n)),
         concrete=True),
    case("array X.X", lambda m, n, p, q: (
        sp.HadamardProduct(M("X", m, n), M("X", m, n) * M("B", n, n)), M("X", m, n)),
        concrete=True),
    case("vec AXB", lambda m, n, p, q: (
        M("A", m, n) * M("X", n, p) * M("B", p, q), M("X", n, p),
        sp.KroneckerProduct(M("B", p, q), M("A", m, n).T)),
        vec=True, form_numerator=lambda m, n, p, q: sp.KroneckerProduct(
            M("B", p, q).T, M("A", m, n))),
    case("vec Wx wrt W", lambda m, n, p, q: (M("W", m, n) * M("x", n), M("W", m, n)), vec=True),
    case("vec Y^-1", lambda m, n, p, q: (M("Y", n, n).I, M("Y", n, n)), vec=True),
    case("vec X' (concrete)", lambda m, n, p, q: (M("X", m, n).T, M("X", m, n)),
         concrete=True, vec=True),
    case("vec sigmoid(X) (concrete)", lambda m, n, p, q: (F.sigmoid(M("X", m, n)), M("X", m, n)),
         concrete=True, vec=True),
]


def _dims(c, config):
    return tuple(SIZES[config][s] for s in (m, n, p, q)) if c.concrete else (m, n, p, q)


@pytest.mark.parametrize("config", list(SIZES))
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("c", CASES)
def test_rule(c, layout, config):
    expr, wrt, *_ = c.build(*_dims(c, config))
    result = diff(expr, wrt, layout=layout, vec=c.vec)
    assert_derivative(result, expr, wrt, layout=layout, vec=c.vec, sizes=SIZES[config],
                      domains=c.domains)


FORM_CASES = [pc for pc in CASES if len(pc.values[0].build(m, n, p, q)) == 3
              or pc.values[0].form_numerator]


@pytest.mark.parametrize("c", FORM_CASES)
def test_textbook_form(c):
    """The forms issue 2 and DESIGN §3 pin, as SymPy expressions (built the natural way)."""
    built = c.build(m, n, p, q)
    expr, wrt = built[:2]
    if len(built) == 3:
        got = diff(expr, wrt, vec=c.vec)
        assert same_form(got, built[2]), f"denominator form: got {got}, want {built[2]}"
    if c.form_numerator:
        got = diff(expr, wrt, layout="numerator", vec=c.vec)
        want = c.form_numerator(m, n, p, q)
        assert same_form(got, want), f"numerator form: got {got}, want {want}"


# --------------------------------------------------------------------------- SymPy 1.14 regressions
# SymPy 1.14's MatrixExpr.diff returns 0 for the first seven and raises on the last two.

def _regression(expr, wrt, sizes=None):
    sizes = sizes or SIZES["small"]
    for layout in LAYOUTS:
        got, want = assert_derivative(diff(expr, wrt, layout=layout), expr, wrt,
                                      layout=layout, sizes=sizes)
        assert abs(want).max() > 1e-3, "the test point must have a non-zero derivative"


def test_regression_log_det():
    Y = M("Y", n, n)
    _regression(sp.log(sp.Determinant(Y)), Y)


def test_regression_det_squared():
    Y = M("Y", n, n)
    _regression(sp.Determinant(Y) ** 2, Y, {n: 3})


def test_regression_trace_plus_constant():
    E = M("A", n, m) * M("X", m, n)
    _regression(sp.Trace(E) + 1, M("X", m, n))


def test_regression_exp_of_quadratic():
    x = M("x", n)
    _regression(sp.exp(x.T * x), x)


def test_regression_log_trace():
    Y = M("Y", n, n)
    _regression(sp.log(sp.Trace(Y)), Y)


def test_regression_log_sum_exp_cross_entropy():
    z, y = M("z", m), F.OneHot("y", m, 1)
    sympy_form = -sp.Trace(y.T * z) + sp.log(sp.Trace(sp.OneMatrix(1, m) * z.applyfunc(sp.exp)))
    _regression(sympy_form, z)
    _regression(-y.T * z + F.logsumexp(z), z)


def test_regression_element_of_quadratic():
    X, y, theta = M("X", m, n), M("y", m), M("theta", n)
    r = y - X * theta
    _regression((r.T * r)[0, 0], theta)


def test_regression_two_nested_sigmoid_layers():
    W1, W2, x, w = M("W1", n, p), M("W2", m, n), M("x", p), M("w", m)
    _regression(w.T * F.sigmoid(W2 * F.sigmoid(W1 * x)), W1)


def test_regression_logistic_regression():
    X, w, y = M("X", m, n), M("w", n), M("y", m)
    p_hat = F.sigmoid(X * w)
    one = sp.OneMatrix(m, 1)
    loss = -(y.T * F.log(p_hat) + (one - y).T * F.log(one - p_hat))
    _regression(loss, w)
    _regression(F.bce(p_hat, y), w)


# --------------------------------------------------------------------------- bad input

class Weird(MatrixExpr):
    """A matrix operation no rule knows."""

    def __new__(cls, arg):
        return super().__new__(cls, arg)

    @property
    def shape(self):
        return self.args[0].shape


def unchecked(cls, *args):
    """A node SymPy would refuse to build (as check=False, deprecated, used to)."""
    return sp.Basic.__new__(cls, *args)


def test_shape_error_names_both_shapes():
    A, B = M("A", m, n), M("B", p, q)
    bad = sp.Trace(unchecked(sp.MatMul, A, B, M("C", q, m)))
    with pytest.raises(ShapeError) as err:
        diff(bad, A)
    text = str(err.value)
    assert "m" in text and "n" in text and "p" in text and "q" in text, text
    assert "A" in text and "B" in text, text


def test_shape_error_on_matadd():
    A, B = M("A", m, n), M("B", n, m)
    with pytest.raises(ShapeError) as err:
        diff(sp.Trace(unchecked(sp.MatAdd, A, B) * M("C", n, m)), A)
    assert "A" in str(err.value) and "B" in str(err.value)


@pytest.mark.parametrize("wrt", [
    M("A", m, n) * M("B", n, m),
    M("A", m, n).T,
    sp.Integer(2),
], ids=["product", "transpose", "number"])
def test_wrt_not_a_symbol(wrt):
    expr = sp.Trace(M("A", m, n) * M("B", n, m))
    with pytest.raises(SymcalcError) as err:
        diff(expr, wrt)
    assert str(wrt) in str(err.value)


def test_unknown_layout():
    X = M("X", m, n)
    with pytest.raises(LayoutError):
        diff(F.sum(X), X, layout="mixed")


@pytest.mark.parametrize("build", [
    lambda X: F.sum(Weird(X)),
    lambda X: F.sum(sp.HadamardProduct(X, Weird(X))),
    lambda X: sp.Trace(Weird(X * X.T)),
], ids=["reduction", "hadamard", "trace"])
def test_unsupported_operation_is_named(build):
    X = M("X", m, n)
    with pytest.raises(UnsupportedError) as err:
        diff(build(X), X)
    assert "Weird" in str(err.value)
    assert "MatMul" in str(err.value) and "Trace" in str(err.value), "lists what is supported"


def test_absent_variable_gives_zero_of_its_shape():
    X, A = M("X", m, n), M("A", m, n)
    for layout in LAYOUTS:
        g = diff(F.sum(A), X, layout=layout)
        assert_derivative(g, F.sum(A), X, layout=layout, sizes=SIZES["small"])


def test_piecewise_differentiates_each_case_where_it_holds():
    """SymPy's own children skip the (expression, condition) pairs: the gradient used to be 0."""
    X = M("X", m, n)
    t = sp.Trace(X * M("B", n, m))
    expr = sp.Piecewise((t**2, t > 0), (3 * F.sum(X), True))
    for layout in LAYOUTS:
        for seed in range(3):  # points on both sides of t = 0
            assert_derivative(diff(expr, X, layout=layout), expr, X, layout=layout,
                              sizes=SIZES["small"], seed=seed)


@pytest.mark.parametrize("build, named", [
    (lambda X: F.sum(X.applyfunc(sp.Lambda(c, c * sp.Trace(X)))), "Trace(X)"),
    (lambda X: F.sum(X.applyfunc(sp.Lambda(c, c * X[0, 1]))), "X[0, 1]"),
    (lambda X: X[sp.Symbol("i", integer=True), 0], "symbolic indices"),
], ids=["trace in entrywise body", "entry in entrywise body", "symbolic entry"])
def test_refuses_what_used_to_be_differentiated_wrong(build, named):
    """Each of these once came back as a wrong (zero or partial) derivative."""
    X = M("X", 3, 3)
    with pytest.raises(UnsupportedError) as err:
        diff(build(X), X)
    assert named in str(err.value), err.value


def test_an_index_sum_of_a_function_of_one_entry_is_right():
    """Σᵢ exp(Xᵢ₀) once came back wrong, then was refused; it is the sum of exp(X)'s column 0."""
    X, i = M("X", 3, 3), sp.Symbol("i", integer=True)
    expr = sp.Sum(sp.exp(X[i, 0]), (i, 0, 2))
    for layout in LAYOUTS:
        assert_derivative(diff(expr, X, layout=layout), expr, X, layout=layout, sizes={})
    values = np.arange(9.0).reshape(3, 3) / 10
    got = np.array(sp.ImmutableMatrix(diff(expr, X).as_explicit()).xreplace(
        {X[a, b]: values[a, b] for a in range(3) for b in range(3)}), dtype=float)
    np.testing.assert_allclose(got, np.where(np.arange(3) == 0, np.exp(values), 0.0))


def test_a_reduction_adds_to_a_scalar():
    """‖X‖_F² + λ tr(BᵀB) and 1 − mean(X): SymPy raises "Mix of Matrix and Scalar symbols"."""
    X, B, lam = M("X", m, n), M("B", p, p), sp.Symbol("lambda")
    for expr in (F.frobenius2(X) + lam * sp.Trace(B.T * B), 1 - F.mean(X), F.sum(X) - c):
        assert not expr.is_Matrix
        for layout in LAYOUTS:
            assert_derivative(diff(expr, X, layout=layout), expr, X, layout=layout, sizes=SIZES["small"])
    from symcalc.printing import text
    assert text(1 - F.mean(X)) == "1 - mean(X)"
