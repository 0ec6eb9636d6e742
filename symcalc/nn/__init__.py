"""Feed-forward networks described as lecture notes do, and their backpropagation derived symbolically.

``Network(layers, loss, batch=None | "columns" | "rows").backprop(layout)`` gives the δ recursion,
the parameter gradients, the local Jacobians and generated NumPy code; ``ComputationGraph`` gives the
forward and backward tables of a scalar Python function.
"""
from .backprop import Backprop
from .layers import (
    Activation, Exp, Identity, Layer, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Softplus, Tanh,
)
from .losses import BinaryCrossEntropy, CrossEntropy, LogisticLoss, Loss, MeanSquaredError, SquaredError
from .network import Network

__all__ = [
    "Activation", "Backprop", "BinaryCrossEntropy", "CrossEntropy", "Exp", "Identity", "Layer",
    "LeakyReLU", "Linear", "LogisticLoss", "Loss", "MeanSquaredError", "Network", "ReLU", "Sigmoid",
    "Softmax", "Softplus", "SquaredError", "Tanh",
]
