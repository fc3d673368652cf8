"""The CLI's task verbs are thin layers over ``lmlab.load`` (issue 23): they import no task package (the word2vec
verbs only its API module, for vectors files, which are not runs), and ``lmlab generate`` loads through it."""

from __future__ import annotations

import pytest

import lmlab
from lmlab.cli.main import main
from tests.test_layout import LMLAB, TASK_PACKAGES, imported_modules

VERBS = {  # module: the task API modules it may import
    "generate_cmd.py": (),
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
