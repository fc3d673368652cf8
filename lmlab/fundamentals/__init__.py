"""The fundamentals before any architecture: the neuron and its activation functions, universal approximation
(ReLU pairs as bumps, the width sweep, the limit of polynomial activations) and memorisation by construction.

The names below are imported on first use (PEP 562), so that ``lmlab.fundamentals.names`` (what the command line
needs to build its parser) does not import PyTorch."""

from lmlab.lazy import lazy_names

_WHERE = {
    "ACTIVATIONS": "activations",
    "get_activation": "activations",
    "neuron": "activations",
    "bump_network": "approximation",
    "fit_depths": "approximation",
    "fit_widths": "approximation",
    "polynomial_floor": "approximation",
    "memorizing_network": "memorize",
}


__getattr__ = lazy_names("lmlab.fundamentals", _WHERE)


__all__ = sorted(_WHERE)
