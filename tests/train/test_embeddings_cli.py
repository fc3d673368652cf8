"""--embeddings FILE on the command line for a neural language model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lmlab.data.vectors import write_word2vec
from lmlab.errors import LmlabError
from lmlab.lm.models.task import load_input_embeddings
from lmlab.tokenizers import WordTokenizer
from tests.train.conftest import TINY_RNN


def test_train_with_embeddings_and_a_wrong_dimension(tmp_path, corpus_dir, cli):
    path = tmp_path / "v.txt"
    write_word2vec(path, ["the", "cat"], np.ones((2, 12), dtype=np.float32))
    rc, _, err = cli("train", "--model", "lstm", *TINY_RNN, "--data", corpus_dir, "--out", tmp_path / "run",
                     "--max-steps", "2", "--device", "cpu", "--embeddings", path)  # fmt: skip
    assert rc == 0, err
    rc, _, err = cli("train", "--model", "lstm", *TINY_RNN, "--d-embed", "6", "--data", corpus_dir, "--out",
                     tmp_path / "bad", "--max-steps", "2", "--device", "cpu", "--embeddings", path)  # fmt: skip
    assert rc == 2 and "12 dimensions" in err and not (tmp_path / "bad").exists()
    with pytest.raises(LmlabError):
        load_input_embeddings(torch.nn.Linear(2, 2), WordTokenizer.train(["a b"]), str(path))
