"""Language modelling, one task among the others: the contract every language model honours (n-gram and neural
alike), its families (``models/``, ``ngram/``), its training task and batching, perplexity evaluation, generation,
run loading (ARPA files included), its comparison profile and its presets."""

from typing import Any

__all__ = ["LanguageModel"]


def __getattr__(name: str) -> Any:
    """``LanguageModel`` on first use: reading the task table (``lmlab.lm.spec``) imports nothing heavy."""
    if name == "LanguageModel":
        from lmlab.lm.contract import LanguageModel

        return LanguageModel
    raise AttributeError(f"module 'lmlab.lm' has no attribute {name!r}")
