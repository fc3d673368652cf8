"""The language-model task's command-line parts, as :mod:`lmlab.tasks` finds them for every task."""

from lmlab.cli.attention_cmd import attention_lm as attention
from lmlab.cli.eval_cmd import evaluate_lm as evaluate
from lmlab.cli.train_cmd import add_lm_train_flags as add_train_flags
from lmlab.cli.train_cmd import run as train

__all__ = ["add_train_flags", "attention", "evaluate", "train"]
