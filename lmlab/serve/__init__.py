"""``lmlab serve``: a local web playground over every trained run under a folder (see :mod:`lmlab.serve.app`)."""
