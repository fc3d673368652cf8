"""How a neural language model is trained: the engine's recipe (:class:`lmlab.train.config.EngineConfig`) and how
the token stream becomes batches. Each language-model family's configuration extends :class:`TrainConfig`."""

from __future__ import annotations

from dataclasses import dataclass

from lmlab.errors import LmlabError
from lmlab.train.config import EngineConfig, check_engine_config

EXAMPLES = ("stream", "lines")  # see lmlab.lm.batching


@dataclass
class TrainConfig(EngineConfig):
    """How a neural language model is trained: the engine's recipe and how the token stream becomes batches."""

    seq_len: int = 35  # T: tokens per stream per update (the BPTT length), or per block
    examples: str = "stream"  # stream: blocks of the token stream; lines: one line per example, from its start
    embeddings: str | None = None  # word vectors (word2vec text or binary) to start the input embeddings from

    def __post_init__(self):
        check_train_config(self)


def check_train_config(cfg: TrainConfig) -> None:
    """A language model's recipe in range, or an LmlabError naming the flag and what is allowed."""
    check_engine_config(cfg)
    for name in ("seq_len",):
        v = getattr(cfg, name)
        if not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
            raise LmlabError(f"--{name.replace('_', '-')} must be an integer >= 1, got {v!r}")
    if cfg.examples not in EXAMPLES:
        raise LmlabError(f"--examples must be one of {', '.join(EXAMPLES)}, got {cfg.examples!r}")


__all__ = ["EXAMPLES", "TrainConfig", "check_train_config"]
