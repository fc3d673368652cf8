"""Language modelling, one task among the others: the contract every language model honours (n-gram and neural
alike), its families (``models/``, ``ngram/``), its training task and batching, perplexity evaluation, generation,
run loading (ARPA files included), its comparison profile and its presets."""

from lmlab.lm.contract import LanguageModel

__all__ = ["LanguageModel"]
