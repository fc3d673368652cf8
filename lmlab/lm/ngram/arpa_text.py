"""What an ARPA file's text is made of, without NumPy: shared by :func:`lmlab.lm.ngram.arpa.write_arpa` (a model in
memory) and :func:`lmlab.lm.ngram.lean.write_arpa_file` (a model file read in place, for ``lmlab export``), so that
both write the same bytes."""

from __future__ import annotations

import math
from collections.abc import Sequence

#: What ARPA writers put for log10(0): SRILM's convention, understood by KenLM.
ARPA_LOG_ZERO = -99.0


def format_log10(x: float) -> str:
    """A log10 value as an ARPA file holds it: 7 significant digits, log10(0) as -99.

    >>> format_log10(-0.30102999566398120), format_log10(0.0), format_log10(float("-inf"))
    ('-0.30103', '0', '-99')
    """
    return f"{x:.7g}" if math.isfinite(x) else f"{ARPA_LOG_ZERO:g}"


def spaced_tokens_message(tokens: Sequence[str]) -> str | None:
    """The error for a vocabulary an ARPA file cannot hold (words are separated by spaces), or None.

    >>> spaced_tokens_message(["a", "b c"]).split("; ")[0][-31:], spaced_tokens_message(["a", "b"])
    ("contain whitespace (e.g. 'b c')", None)
    """
    spaced = [t for t in tokens if not t or any(c.isspace() for c in t)]
    if not spaced:
        return None
    return (
        f"ARPA files separate words by spaces, but this vocabulary has {len(spaced)} token(s) that are empty or "
        f"contain whitespace (e.g. {spaced[0]!r}); ARPA export needs a word-level model"
    )


__all__ = ["ARPA_LOG_ZERO", "format_log10", "spaced_tokens_message"]
