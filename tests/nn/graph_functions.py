"""Functions for the computation-graph tests; the graph mode reads their source, it never runs it."""
from math import cos, exp, log, sin


def J(x):
    return cos(sin(x**2) + 3*x**2)


def J_named(x):
    t = x**2
    u1 = sin(t)
    u2 = 3*t
    u = u1 + u2
    return cos(u)


def y(x, z):
    return exp(x*z) + x*z/log(x) + sin(log(x))/(x*z)
