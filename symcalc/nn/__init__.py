"""Feed-forward networks described as lecture notes do, and their backpropagation derived symbolically.

``Network(layers, loss, batch=None | "columns" | "rows").backprop(layout)`` gives the δ recursion,
the parameter gradients, the local Jacobians and generated NumPy code; ``ComputationGraph`` gives the
forward and backward tables of a scalar Python function::

    from symcalc import nn
    net = nn.Network([nn.Linear(1, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid()],
                     loss=nn.BinaryCrossEntropy())
    bp = net.backprop("denominator")
    bp.deltas[2]              # a2 - y  (sigmoid + binary cross-entropy)
    bp.gradients[bp.parameters[0]]   # delta1*x.T
    fwd, bwd = bp.numpy()     # bwd({"W1": ..., "b1": ..., ...}, x, y) -> {"W1": gradient, ...}
    print(bp.derivation.latex())

    model = nn.Model(batch="rows", samples=T)                      # a graph of modules
    X = model.input("X", d)
    model.output(nn.Linear(d, 1)(X + nn.SelfAttention(d, d_k)(X)), loss="squared_error")
    model.backprop("denominator").gradients                         # every weight and X

    graph = nn.ComputationGraph.from_function(J)   # J defined in a file: read with ast, never run
    graph.forward_table(); graph.backward_table(); graph.values(x=2)
"""
from .backprop import Backprop
from .graph import ComputationGraph, computation_graph
from .layers import (
    Activation, Exp, Identity, Layer, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Softplus, Tanh, Threshold,
)
from .conventions import PRESETS, Convention
from .losses import (
    BinaryCrossEntropy, CrossEntropy, LogisticLoss, LogLikelihood, Loss, MeanSquaredError, SquaredError,
)
from .modules import (
    MLP, Conv1D, Embedding, LayerNorm, Model, Module, Residual, SelfAttention, Sequential, TransformerBlock, Value,
)
from .network import Network

__all__ = [
    "Activation", "Backprop", "BinaryCrossEntropy", "ComputationGraph", "Convention", "CrossEntropy", "Exp",
    "LogLikelihood", "PRESETS",
    "Identity", "Layer", "computation_graph",
    "LeakyReLU", "Linear", "LogisticLoss", "Loss", "MeanSquaredError", "Network", "ReLU", "Sigmoid",
    "Softmax", "Softplus", "SquaredError", "Tanh", "Threshold",
    "Conv1D", "Embedding", "LayerNorm", "MLP", "Model", "Module", "Residual", "SelfAttention", "Sequential",
    "TransformerBlock", "Value",
]
