"""The CLI's task verbs are thin layers over ``lmlab.load`` (issue 23): they import no task package (the word2vec
verbs only its API module, for vectors files, which are not runs), and ``lmlab generate`` loads through it."""

from __future__ import annotations

import pytest

import lmlab
from lmlab.cli.main import main
from tests.test_layout import LMLAB, TASK_PACKAGES, imported_modules

VERBS = {  # module: the task API modules it may import
    "generate_cmd.py": (),
    "classify_cmd.py": (),
    "translate_cmd.py": (),
    "tag_cmd.py": (),
    "word2vec_cmd.py": ("lmlab.word2vec.api",),
}

ARPA = """\\data\\
ngram 1=4
ngram 2=2

\\1-grams:
-0.5 </s>
-99 <s> -0.2
-0.4 a -0.1
-1.2 <unk>

\\2-grams:
-0.2 <s> a
-0.1 a </s>

\\end\\
"""


@pytest.mark.parametrize("name", sorted(VERBS))
def test_verb_imports_no_task_package(name):
    path = LMLAB / "cli" / name
    task_modules = [
        (line, module)
        for line, module in imported_modules(path)
        if module.split(".")[:2] in (["lmlab", t] for t in TASK_PACKAGES) and module not in VERBS[name]
    ]
    assert task_modules == [], f"{path} imports task internals"


def test_generate_loads_through_lmlab_load(tmp_path, monkeypatch, capsys):
    path = tmp_path / "tiny.arpa"
    path.write_text(ARPA)
    calls = []
    real = lmlab.load

    def counting(run):
        calls.append(str(run))
        return real(run)

    monkeypatch.setattr(lmlab, "load", counting)
    assert main(["generate", str(path), "--seed", "0", "--num-samples", "2", "--max-tokens", "3"]) == 0
    assert calls == [str(path)]
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_task_verbs_are_declared_by_the_tasks_not_the_dispatcher():
    """``lmlab generate``, ``classify``, ``translate``, ``tag``, ``similar``/``analogy`` and ``conv``/``cnn-shapes``
    come from the tasks' specs (``Task.commands``); main.py names only the shared verbs."""
    from lmlab.cli.parser import build_parser
    from lmlab.tasks import TASKS, command_modules

    main_source = (LMLAB / "cli" / "main.py").read_text()
    for module in command_modules():
        assert module.rpartition(".")[2] not in main_source, module
    verbs = build_parser(["--help"])._subparsers._group_actions[0].choices
    for verb in ("generate", "classify", "translate", "tag", "similar", "analogy", "conv", "cnn-shapes"):
        assert verb in verbs
    assert TASKS["lm"].commands == ("lmlab.cli.generate_cmd",)
    assert (
        "lmlab.cli.classify_cmd" in TASKS["classify"].commands and "lmlab.cli.classify_cmd" in TASKS["image"].commands
    )


def test_a_verb_refuses_a_run_of_a_task_that_does_not_declare_it(tmp_path):
    from lmlab.errors import LmlabError
    from lmlab.tasks import check_run_task

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(
        '{"format": "lmlab-run", "version": 1, "task": "graph", "family": "gcn", "model": {}}'
    )
    with pytest.raises(LmlabError, match=r"run is a graph run, not a language model \(a run of: lm\)"):
        check_run_task(run, "lmlab.cli.generate_cmd", "a language model")
    with pytest.raises(LmlabError, match=r"not a classifier \(a run of: classify, image\)"):
        check_run_task(run, "lmlab.cli.classify_cmd", "a classifier")
    with pytest.raises(LmlabError, match="is not a run directory"):
        check_run_task(tmp_path / "run" / "config.json", "lmlab.cli.translate_cmd", "a translation model")
    with pytest.raises(LmlabError, match="does not exist"):
        check_run_task(tmp_path / "nothing", "lmlab.cli.tag_cmd", "a tagger")
    assert check_run_task(tmp_path / "model.arpa", "lmlab.cli.generate_cmd", "a language model").name == "lm"
