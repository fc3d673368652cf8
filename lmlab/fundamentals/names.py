"""The names the command line offers before anything heavy is imported (``lmlab --help`` must not import PyTorch):
the activation functions of :mod:`lmlab.fundamentals.activations` (a test checks that the two lists agree) and the
largest learning rate of :mod:`lmlab.fundamentals.approximation`."""

ACTIVATION_NAMES = (
    "identity",
    "step",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "softplus",
    "gelu",
    "silu",
    "poly2",
)
MAX_LR = 10.0  # full-batch Adam on a few hundred points diverges long before

__all__ = ["ACTIVATION_NAMES", "MAX_LR"]
