"""Neural machine translation: parallel data, encoder-decoder models, beam search, BLEU.

``lmlab train --task translate``, ``lmlab translate``; see :mod:`lmlab.translate.task`.
"""
