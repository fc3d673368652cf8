"""Language modelling, one task among the others: the contract every language model honours (n-gram and neural
alike), its families (``models/``, ``ngram/``), its training task and batching, perplexity evaluation, generation,
run loading (ARPA files included), its comparison profile and its presets."""

from lmlab.lazy import lazy_names

__all__ = ["LanguageModel"]

# LanguageModel on first use: reading the task table (lmlab.lm.spec) imports nothing heavy
__getattr__ = lazy_names("lmlab.lm", {"LanguageModel": "contract"})
