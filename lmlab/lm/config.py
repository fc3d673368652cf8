"""How a neural language model is trained: the engine's recipe (:class:`lmlab.train.config.EngineConfig`) and how
the token stream becomes batches. Each language-model family's configuration extends :class:`TrainConfig`.

``num_labels`` comes from the data, not from a flag: a labelled corpus (see :mod:`lmlab.data.labelled`) makes it
the number of its labels, and the network then takes a label with every line (:mod:`lmlab.nn.condition`)."""

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
    # a carried state (recurrent models on --examples stream) restarts from zero every this many batches in each
    # stream, the streams staggered, so the model also learns the cold start evaluation begins with; 0: never
    state_reset: int = 0
    embeddings: str | None = None  # word vectors (word2vec text or binary) to start the input embeddings from
    num_labels: int = 0  # L, labels the model is conditioned on (set from a labelled corpus, not a flag); 0: none

    def __post_init__(self):
        check_train_config(self)


def check_train_config(cfg: TrainConfig) -> None:
    """A language model's recipe in range, or an LmlabError naming the flag and what is allowed."""
    check_engine_config(cfg)
    for name in ("seq_len",):
        v = getattr(cfg, name)
        if not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
            raise LmlabError(f"--{name.replace('_', '-')} must be an integer >= 1, got {v!r}")
    if not (isinstance(cfg.state_reset, int) and not isinstance(cfg.state_reset, bool) and cfg.state_reset >= 0):
        raise LmlabError(f"--state-reset must be an integer >= 0 (0: never), got {cfg.state_reset!r}")
    if cfg.examples not in EXAMPLES:
        raise LmlabError(f"--examples must be one of {', '.join(EXAMPLES)}, got {cfg.examples!r}")
    if not (isinstance(cfg.num_labels, int) and not isinstance(cfg.num_labels, bool) and cfg.num_labels >= 0):
        raise LmlabError(f"num_labels must be an integer >= 0, got {cfg.num_labels!r}")
    if cfg.num_labels and cfg.examples != "lines":
        raise LmlabError(
            f"--examples {cfg.examples}: a model conditioned on labels reads each line on its own, from its label; "
            "use --examples lines (the default on a labelled corpus)"
        )


__all__ = ["EXAMPLES", "TrainConfig", "check_train_config"]
