"""Reading tagged sentences: CoNLL-U (comments, multiword tokens and empty nodes skipped), column files, folders,
one file split by sentences, the registered ud-english-gum; and the bad inputs each answered with one line."""

from __future__ import annotations

import pytest

from lmlab.errors import LmlabError
from lmlab.tag.data import (
    load_tagging_data,
    read_columns,
    read_conllu,
    split_sentences,
    tag_scheme,
)

CONLLU = """# newdoc id = doc1
# sent_id = 1
# text = I don't know.
1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
3.1\tknows\tknow\tVERB\tVBZ\t_\t_\t_\t0:root\t_
4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

# sent_id = 2
1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_

"""


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def conllu_sentence(words_tags) -> str:
    lines = [f"{i}\t{w}\t{w}\t{t}\t{t}-x\t_\t0\troot\t_\t_" for i, (w, t) in enumerate(words_tags, start=1)]
    return "\n".join(lines) + "\n\n"


def test_conllu_skips_comments_multiword_tokens_and_empty_nodes(tmp_path):
    s = read_conllu(write(tmp_path / "a.conllu", CONLLU))
    assert s.words == [["I", "do", "n't", "know", "."], ["Yes"]]
    assert s.tags == [["PRON", "AUX", "PART", "VERB", "PUNCT"], ["INTJ"]]
    assert read_conllu(tmp_path / "a.conllu", column="xpos").tags[0] == ["PRP", "VBP", "RB", "VB", "."]
    assert s.tokens == 6 and len(s) == 2


@pytest.mark.parametrize(
    "text, message",
    [
        ("1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\n", "a.conllu:1: 9 column(s); a CoNLL-U word line has 10"),
        ("# c\n1 I I PRON PRP _ 0 root _ _\n", "a.conllu:2: 1 column(s)"),
        ("x\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_\n", "a.conllu:1: 'x' is not a CoNLL-U word ID"),
        ("1\tI\tI\t_\tPRP\t_\t0\troot\t_\t_\n", "a.conllu:1: word 'I' has no tag ('_')"),
        ("1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_\n\n# sent_id = 2\n\n", "a.conllu:3: a sentence with no tokens"),
        ("# only a multiword token\n1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n\n", "a.conllu:1: a sentence with no tokens"),
        ("", "a.conllu has no sentences"),
    ],
)
def test_bad_conllu_names_the_file_and_line(tmp_path, text, message):
    with pytest.raises(LmlabError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_conllu(write(tmp_path / "a.conllu", text))


def test_bad_utf8_names_the_line(tmp_path):
    (tmp_path / "a.conllu").write_bytes(b"1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_\n\n1\t\xff\tx\tX\tX\t_\t0\troot\t_\t_\n")
    with pytest.raises(LmlabError, match=r"a.conllu:3: not valid UTF-8"):
        read_conllu(tmp_path / "a.conllu")
    assert read_conllu(tmp_path / "a.conllu", encoding_errors="replace").words[1] == ["\ufffd"]


def test_column_files_tab_or_spaces_docstart_and_bad_lines(tmp_path):
    text = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\nPeter\tB-PER\nBlackburn\tI-PER\n"
    s = read_columns(write(tmp_path / "ner.txt", text))
    assert s.words == [["EU", "rejects"], ["Peter", "Blackburn"]]
    assert s.tags == [["B-ORG", "O"], ["B-PER", "I-PER"]]
    with pytest.raises(LmlabError, match=r"one.txt:2: one column"):
        read_columns(write(tmp_path / "one.txt", "a\tX\nb\n"))


def test_tag_scheme_finds_span_tags():
    assert tag_scheme(["O", "B-PER", "I-PER", "E-LOC", "S-LOC"]) == "bio"
    assert tag_scheme(["NOUN", "VERB", "O"]) == "plain"
    assert tag_scheme(["B-", "O"]) == "plain"


def test_split_sentences_is_fixed_by_the_seed_and_covers_every_sentence():
    parts = split_sentences(100, (0.8, 0.1, 0.1), seed=3)
    assert [len(p) for p in parts] == [80, 10, 10]
    assert sorted(sum(parts, [])) == list(range(100))
    assert parts == split_sentences(100, (0.8, 0.1, 0.1), seed=3) != split_sentences(100, (0.8, 0.1, 0.1), seed=4)


def test_folder_with_dev_and_ud_names(tmp_path):
    one = conllu_sentence([("a", "X"), ("b", "Y")])
    for split in ("train", "dev", "test"):
        write(tmp_path / f"en_toy-ud-{split}.conllu", one * (3 if split == "train" else 1))
    data = load_tagging_data(tmp_path)
    assert (len(data.train), len(data.valid), len(data.test)) == (3, 1, 1)
    assert data.tags == ["X", "Y"] and data.scheme == "plain"


def test_folder_without_valid_holds_out_a_tenth_and_names_unseen_tags(tmp_path):
    write(tmp_path / "train.txt", "".join(f"w{i}\tA\nv\tB\n\n" for i in range(20)))
    write(tmp_path / "test.txt", "w1\tA\nz\tC\n\n")
    data = load_tagging_data(tmp_path)
    assert (len(data.train), len(data.valid), len(data.test)) == (18, 2, 1)
    assert any("tags never seen in training" in n and "'C' (1)" in n for n in data.notes)


def test_one_file_is_split_80_10_10_by_sentences(tmp_path):
    path = write(tmp_path / "all.conllu", "".join(conllu_sentence([(f"w{i}", "X"), ("b", "Y")]) for i in range(50)))
    data = load_tagging_data(path, seed=1)
    assert (len(data.train), len(data.valid), len(data.test)) == (40, 5, 5)


def test_folder_errors_are_one_line(tmp_path):
    write(tmp_path / "train.conllu", conllu_sentence([("a", "X"), ("b", "Y")]))
    with pytest.raises(LmlabError, match="has no test file"):
        load_tagging_data(tmp_path)
    write(tmp_path / "test.txt", "a\tX\n")
    write(tmp_path / "test.conllu", conllu_sentence([("a", "X")]))
    with pytest.raises(LmlabError, match="has 2 test files"):
        load_tagging_data(tmp_path)
    with pytest.raises(LmlabError, match="only one tag"):
        load_tagging_data(write(tmp_path / "x.txt", "a\tX\n\n" * 20))
    with pytest.raises(LmlabError, match="neither a tagging dataset"):
        load_tagging_data(tmp_path / "nothing-here")
    with pytest.raises(LmlabError, match="ptb is a text dataset; tagging datasets: ud-english-gum"):
        load_tagging_data("ptb")


def test_the_registered_name_reads_the_data_directory(tmp_path):
    root = tmp_path / "data"
    (root / "ud-english-gum").mkdir(parents=True)
    for split, n in (("train", 4), ("dev", 2), ("test", 1)):
        write(root / f"ud-english-gum/en_gum-ud-{split}.conllu", conllu_sentence([("a", "DET"), ("b", "NOUN")]) * n)
    data = load_tagging_data("ud-english-gum", data_dir=root, download=False)
    assert (len(data.train), len(data.valid), len(data.test)) == (4, 2, 1)
    (root / "ud-english-gum/en_gum-ud-test.conllu").unlink()
    with pytest.raises(LmlabError, match="not found and download is off"):
        load_tagging_data("ud-english-gum", data_dir=root, download=False)


def test_ud_english_gum_as_registered(shared_data):
    """The real treebank: the sizes of the data README, 17 UPOS tags, and the most-frequent-tag baseline's 88.75%
    on test, which the HMM beats."""
    from lmlab.tag.metrics import tag_report
    from lmlab.tag.models.hmm import HMMConfig, HMMTagger, most_frequent_tags
    from lmlab.tag.vocab import Vocabulary

    data = load_tagging_data("ud-english-gum", data_dir=shared_data, download=False)
    assert [len(data.split(s)) for s in ("train", "valid", "test")] == [10_330, 1_575, 1_464]
    assert [data.split(s).tokens for s in ("train", "valid", "test")] == [178_797, 28_119, 28_397]
    assert len(data.tags) == 17 and data.scheme == "plain" and "PROPN" in data.tags
    baseline = tag_report(data.test.tags, most_frequent_tags(data.train, data.test.words)).accuracy
    assert round(baseline * 100, 2) == 88.75
    vocab = Vocabulary.build(data.train.words)
    hmm = HMMTagger.fit(HMMConfig(vocab_size=vocab.size, num_tags=17), vocab, data.tags, data.train)
    assert tag_report(data.test.tags, hmm.predict(data.test.words)).accuracy > baseline
