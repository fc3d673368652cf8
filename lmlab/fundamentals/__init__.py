"""The fundamentals before any architecture: the neuron and its activation functions, universal approximation
(ReLU pairs as bumps, the width sweep, the limit of polynomial activations) and memorisation by construction."""

from lmlab.fundamentals.activations import ACTIVATIONS, get_activation, neuron
from lmlab.fundamentals.approximation import bump_network, fit_depths, fit_widths, polynomial_floor
from lmlab.fundamentals.memorize import memorizing_network

__all__ = [
    "ACTIVATIONS",
    "bump_network",
    "fit_depths",
    "fit_widths",
    "get_activation",
    "memorizing_network",
    "neuron",
    "polynomial_floor",
]
