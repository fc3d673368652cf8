"""--embeddings for the neural language models: word vectors land on the rows of their words."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lmlab.data.vectors import write_word2vec
from lmlab.lm.models import get_family
from lmlab.lm.models.task import input_embedding, load_input_embeddings
from lmlab.tokenizers import WordTokenizer


@pytest.mark.parametrize("family", ["mlp", "lstm", "cnn", "transformer"])
@pytest.mark.parametrize("binary", [False, True])
def test_vectors_land_on_their_words(family, binary, tmp_path):
    tok = WordTokenizer.train(["the cat sat on the mat", "a dog ran"])
    d = 8
    width = {"transformer": {"d_model": d, "n_head": 2}}.get(family, {"d_embed": d})
    lm = get_family(family).model_class()(tok, get_family(family).config_class()(**width))
    rng = np.random.default_rng(0)
    words = ["cat", "Dog", "zebra"]  # "Dog" is found lowercased; "zebra" is not in the vocabulary
    vectors = rng.normal(size=(3, d)).astype(np.float32)
    path = tmp_path / ("v.bin" if binary else "v.txt")
    write_word2vec(path, words, vectors, binary=binary)
    before = input_embedding(lm.net, tok.vocab_size).weight.detach().clone()
    assert load_input_embeddings(lm.net, tok, str(path)) == 2
    after = input_embedding(lm.net, tok.vocab_size).weight.detach()
    cat, dog, the = tok.token_to_id("cat"), tok.token_to_id("dog"), tok.token_to_id("the")
    torch.testing.assert_close(after[cat], torch.from_numpy(vectors[0]))
    torch.testing.assert_close(after[dog], torch.from_numpy(vectors[1]))
    torch.testing.assert_close(after[the], before[the])  # a word without a vector keeps its initialisation
