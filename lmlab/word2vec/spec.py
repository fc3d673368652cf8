"""The word2vec task as the shared layers see it: its name, families, command-line parts, comparison profile and
inference API, each named as a "module:attr" string loaded on first use (reading it imports no PyTorch)."""

from lmlab.taskspec import Task

SPEC = Task(
    "word2vec",
    "word vectors, skip-gram and CBOW (analogy accuracy, word similarity)",
    "lmlab.word2vec.config:FAMILIES",
    "lmlab.cli.word2vec_task",
    "lmlab.word2vec.compare:WORD2VEC_PROFILE",
    single_process="word2vec trains with its own threads (Hogwild, --threads N), not on several processes",
    api="lmlab.word2vec.api:load_run",
    verbs=("export", "plot_words"),
    eval_flags="lmlab.word2vec.eval_flags:add_eval_flags",
    noun="a word2vec run",
    commands=("lmlab.cli.word2vec_cmd",),
    data_kinds=("text",),
)
