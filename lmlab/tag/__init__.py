"""Sequence labelling: part-of-speech tagging and named-entity recognition (``lmlab train --task tag``)."""
