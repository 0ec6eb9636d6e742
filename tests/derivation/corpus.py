"""Models lecturers derive, each by every parameter: name -> (expression, [parameters], sizes).

The issue's examples (a regularised logistic loss, tied weights, a skip connection), regression
with its variants, softmax regression, Gaussian log-likelihoods, networks with one sample and with
batches, matrix functions. Sizes are small distinct integers for the step check (rectangular, so
a transposition cannot hide).
"""
import sympy as sp

import symcalc as sc

n, d, h, K, m = sp.symbols("n d h K m", integer=True, positive=True)
SIZES = {"n": 5, "d": 3, "h": 4, "K": 3, "m": 2}


def M(name, rows, cols=1):
    return sp.MatrixSymbol(name, rows, cols)


def corpus():
    X, y, w, theta, beta = M("X", n, d), M("y", n), M("w", d), M("theta", d), M("beta", d)
    b = sp.Symbol("b", real=True)
    lam = sp.Symbol("lam", positive=True)
    ones = sp.OneMatrix(n, 1)
    A, S, C, B = M("A", d, d), sc.SymmetricMatrix("S", d), M("C", n, n), M("B", d, n)
    Wt = M("W", n, n)
    Ws = sc.SymmetricMatrix("W", n)
    x, xd = M("x", d), M("x", d)
    W1, b1 = M("W1", h, d), M("b1", h)
    W2, b2 = M("W2", 1, h), M("b2", 1, 1)
    W2d = M("W2", d, h)
    y1, yd = M("y", 1, 1), M("y", d)
    W, bm, t = M("W", m, d), M("b", m), M("t", m)
    Wk, bk, yk = M("W", K, d), M("b", K), sc.OneHot("y", K, 1)
    Xc, Yk = M("X", d, n), sc.OneHot("Y", K, n)
    V = M("V", h, d)
    Wq = M("W", m, d)
    mu, P, Sig = M("mu", d), M("P", d, d), M("Sigma", d, d)
    a_, y0 = M("a", d), sp.Symbol("y0", real=True)
    Yc, Bm = M("Y", m, n), M("B", m, d)
    W2c, b2c = M("W2", m, h), M("b2", m)
    Ym = M("Y", m, n)
    u = M("u", d)
    return {
        # regression
        "least_squares": ((y - X * theta).T * (y - X * theta), [theta], {}),
        "least_squares_norm": (sc.norm2(X * theta - y) / 2, [theta], {}),
        "mse": (sc.mse(X * w, y), [w], {}),
        "ridge": ((y - X * theta).T * (y - X * theta) + lam * theta.T * theta, [theta], {}),
        "ridge_norm": (sc.norm2(y - X * w) + lam * sc.norm2(w), [w], {}),
        "wls_symmetric": ((y - X * beta).T * Ws * (y - X * beta), [beta], {}),
        "wls_general": ((y - X * beta).T * Wt * (y - X * beta), [beta], {}),
        "rank_one": ((sp.Trace(w.T * a_) + b - y0) ** 2 / 2, [w], {}),
        "matrix_regression": (sc.frobenius2(Yc - Bm * Xc), [Bm], {}),
        # quadratic and matrix functions
        "quadratic_form": (x.T * A * x, [x], {}),
        "quadratic_symmetric": (x.T * S * x + u.T * x, [x], {}),
        "trace_CXB": (sp.Trace(C * X * B), [X], {}),
        "log_det": (sp.log(sp.det(A)), [A], {}),
        "log_det_trace": (sp.log(sp.det(A)) + sp.Trace(A.T * A), [A], {}),
        "tied_quadratic": (sp.Trace(Wq.T * Wq * A) + sc.norm2(Wq * x), [Wq], {}),
        # classification
        "logistic": (sc.bce(sc.sigmoid(X * w + b * ones), y), [w, b], {}),
        "logistic_ridge": (sc.bce(sc.sigmoid(X * w), y) + lam / 2 * sc.norm2(w), [w], {}),
        "logistic_softplus": (sc.sum(sc.softplus(X * w)) - y.T * X * w, [w], {}),
        "poisson": (sc.sum(sc.exp(X * w)) - y.T * X * w, [w], {}),
        "softmax_ce": (sc.cross_entropy(sc.softmax(Wk * x + bk), yk), [Wk, bk], {}),
        "softmax_regression": (sc.cross_entropy(sc.softmax(Wk * Xc), Yk), [Wk], {}),
        "logsumexp": (sc.logsumexp(Wk * x) - yk.T * Wk * x, [Wk, x], {}),
        # Gaussian log-likelihoods
        "gaussian_mean": (sp.Trace((x - mu).T * P * (x - mu)) / 2 - sp.log(sp.det(P)) / 2, [mu, P], {}),
        "gaussian_covariance": (sp.log(sp.det(Sig)) / 2 + sp.Trace((x - mu).T * Sig.inv() * (x - mu)) / 2,
                                [mu, Sig], {}),
        "gaussian_batch": (sc.frobenius2(Xc - mu * sp.OneMatrix(1, n)) / 2, [mu], {}),
        # layers and networks, one sample
        "sigmoid_layer": (sc.norm2(sc.sigmoid(W * x + bm) - t), [W, bm], {}),
        "tanh_layer": (sc.norm2(sc.tanh(W * x + bm) - t) / 2, [W, bm], {}),
        "relu_net": (sc.norm2(W2d * sc.relu(W1 * x) - yd) / 2, [W1, W2d], {}),
        "mlp": (sc.bce(sc.sigmoid(W2 * sc.sigmoid(W1 * x + b1) + b2), y1), [W1, b1, W2, b2], {}),
        "mlp_tanh": (sc.norm2(W2d * sc.tanh(W1 * x + b1) - yd) / 2, [W1, b1, W2d], {}),
        "skip": (sc.norm2(x + W2d * sc.tanh(W1 * x + b1) - yd) / 2, [x, W1, b1, W2d], {}),
        "tied_autoencoder": (sc.frobenius2(Xc - V.T * sc.sigmoid(V * Xc)), [V], {}),
        # batches (samples as columns)
        "batch_linear": (sc.frobenius2(W * Xc + bm * sp.OneMatrix(1, n) - Ym) / 2, [W, bm], {}),
        "batch_tanh_net": (sc.frobenius2(W2c * sc.tanh(W1 * Xc) - Ym) / 2, [W1, W2c], {}),
        # scalar functions and vector outputs
        "sigmoid_scalar": (sc.sigmoid(b), [b], {}),
        "Ax": (M("A", m, d) * x, [x], {}),
    }


#: The single-element style applies to products, sums, transposes and traces.
INDEX = {"least_squares", "quadratic_form", "quadratic_symmetric", "trace_CXB", "Ax", "ridge"}
