"""Classification data: the real SST-2 and MR files, user folders and files, stratified splits and folds, errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmlab.classify.data import (
    fold_datasets,
    load_classification_data,
    read_glue_sst2,
    read_sst_sentences,
    stratified_folds,
    stratified_split,
    unseen_labels,
)
from lmlab.data import DATASETS
from lmlab.errors import LmlabError


def _load(spec, shared_data: Path, **kw):
    return load_classification_data(spec, data_dir=shared_data, download=False, **kw)


def test_sst2_has_kims_splits(shared_data: Path) -> None:
    data = _load("sst2", shared_data)
    assert (len(data.train), len(data.valid), len(data.test)) == (6920, 872, 1821)
    assert data.labels == ["negative", "positive"]
    assert data.train.counts() == {"negative": 3310, "positive": 3610}
    assert data.test.counts() == {"negative": 912, "positive": 909}
    assert data.train.texts[0].startswith("a stirring , funny and finally transporting re-imagining")
    assert data.train.labels[0] == "positive"
    assert unseen_labels(data) == {}


def test_sst2_phrases_trains_on_glue_written_as_the_sentence_files(shared_data: Path) -> None:
    data = _load("sst2-phrases", shared_data)
    assert len(data.train) == 67_349
    assert data.train.counts() == {"negative": 29_780, "positive": 37_569}
    assert data.train.texts[0] == "hide new secretions from the parental units"  # GLUE's trailing space dropped
    assert not any(c in t for t in data.train.texts for c in "()")
    assert sum("-lrb-" in t for t in data.train.texts) > 0
    sentences = _load("sst2", shared_data)
    assert data.valid == sentences.valid and data.test == sentences.test
    # GLUE's dev file holds the same 872 sentences as Kim's dev file: after normalising they agree exactly,
    # so a vocabulary built on GLUE's phrases covers the test sentences' brackets and slashes.
    glue_dev = read_glue_sst2(shared_data / "sst2/glue/dev.tsv")
    kim_dev = read_sst_sentences(shared_data / "sst2/stsa.binary.dev")
    assert Counter(zip(glue_dev.texts, glue_dev.labels)) == Counter(zip(kim_dev.texts, kim_dev.labels))
    assert any("\\/" in t for t in glue_dev.texts)


def test_mr_is_read_as_cp1252_without_splitting_at_0x85(shared_data: Path) -> None:
    data = _load("mr", shared_data)
    everything = data.train.texts + data.valid.texts + data.test.texts
    assert len(everything) == 10_662
    labels = Counter(data.train.labels + data.valid.labels + data.test.labels)
    assert labels == {"pos": 5331, "neg": 5331}
    assert data.labels == ["neg", "pos"]
    # 0x85 is '…' in Windows-1252; read as latin-1 it would be a control character (and a line break).
    pos_bytes = (shared_data / "mr/rt-polarity.pos").read_bytes()
    assert sum("…" in t for t in everything) == sum(line.count(b"\x85") > 0 for line in _mr_lines(shared_data))
    assert not any(c in t for t in everything for c in "\x85\x91\x96\x97\ufffd")
    assert "exquisitely acted and masterfully if preciously interwoven… [the film]" in pos_bytes.decode("cp1252")
    assert any(
        t.startswith("exquisitely acted and masterfully if preciously interwoven… [the film]") for t in everything
    )
    # No split is given: stratified 80/10/10.
    assert data.train.counts() == {"neg": 4265, "pos": 4265}
    assert data.valid.counts() == data.test.counts() == {"neg": 533, "pos": 533}


def _mr_lines(shared_data: Path) -> list[bytes]:
    return [
        line for name in ("pos", "neg") for line in (shared_data / f"mr/rt-polarity.{name}").read_bytes().split(b"\n")
    ]


def test_mr_split_depends_on_the_seed_only(shared_data: Path) -> None:
    a, b, c = _load("mr", shared_data, seed=0), _load("mr", shared_data, seed=0), _load("mr", shared_data, seed=1)
    assert a.test == b.test and a.train == b.train
    assert a.test != c.test and c.test.counts() == {"neg": 533, "pos": 533}


def test_mr_cross_validation_folds(shared_data: Path) -> None:
    data = _load("mr", shared_data)
    folds = fold_datasets(data, 10, seed=0)
    assert len(folds) == 10
    seen: Counter[str] = Counter()
    for fold in folds:
        assert len(fold.test) in (1066, 1067)
        assert abs(fold.test.counts()["pos"] - fold.test.counts()["neg"]) <= 1
        assert len(fold.train) + len(fold.valid) + len(fold.test) == 10_662
        assert abs(len(fold.valid) - 0.1 * (10_662 - len(fold.test))) <= 2
        seen.update(fold.test.texts)
    assert sum(seen.values()) == 10_662
    assert seen == Counter(data.train.texts + data.valid.texts + data.test.texts)


def test_named_datasets_download_only_the_files_they_read(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file:// mirror laid out like the data directory stands in for the network; checksums are verified.
    monkeypatch.setenv("LMLAB_DATA_MIRROR", shared_data.as_uri())
    data = load_classification_data("mr", data_dir=tmp_path)
    assert len(data.train) == 8530
    assert sorted(p.name for p in (tmp_path / "mr").iterdir()) == ["rt-polarity.neg", "rt-polarity.pos"]
    assert len(load_classification_data("sst2-phrases", data_dir=tmp_path).train) == 67_349
    assert not (tmp_path / "sst2/stsa.binary.train").exists()


def test_registry_entries_for_classification(shared_data: Path) -> None:
    assert {DATASETS[n].kind for n in ("sst2", "sst2-phrases", "mr")} == {"classification"}
    assert DATASETS["sst2"].split_files == ("sst2/stsa.binary.train", "sst2/stsa.binary.dev", "sst2/stsa.binary.test")
    assert DATASETS["sst2-phrases"].split_files[0] == "sst2/glue/train.tsv"
    assert DATASETS["mr"].split_files is None


def test_missing_named_dataset_without_download(tmp_path: Path) -> None:
    with pytest.raises(LmlabError, match=r"rt-polarity.pos not found and download is off.*raw.githubusercontent"):
        load_classification_data("mr", data_dir=tmp_path, download=False)


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _tsv(n: int, labels: tuple[str, ...] = ("ham", "spam")) -> str:
    return "".join(f"{labels[i % len(labels)]}\ttext number {i}\n" for i in range(n))


def test_folder_with_three_files(tmp_path: Path) -> None:
    _write(tmp_path / "d/train.tsv", "sports\tthe match\tended late\nnews\tthe vote \n\n")
    _write(tmp_path / "d/valid.tsv", "news\ta poll\n")
    _write(tmp_path / "d/test.tsv", "sports\ta goal\r\nweather\train\n")
    data = load_classification_data(tmp_path / "d")
    assert data.name == "d"
    assert data.train.texts == ["the match\tended late", "the vote"]  # the text is all after the first tab
    assert data.train.labels == ["sports", "news"]
    assert data.labels == ["news", "sports"]
    assert data.test.texts == ["a goal", "rain"]
    assert unseen_labels(data) == {"weather": 1}
    assert unseen_labels(data, "valid") == {}
    assert any("'weather' (1)" in note and note.startswith("test") for note in data.notes)


def test_folder_without_valid_holds_out_a_stratified_tenth(tmp_path: Path) -> None:
    _write(tmp_path / "d/train.tsv", _tsv(100))
    _write(tmp_path / "d/test.tsv", _tsv(10))
    data = load_classification_data(tmp_path / "d", seed=3)
    assert data.train.counts() == {"ham": 45, "spam": 45}
    assert data.valid.counts() == {"ham": 5, "spam": 5}
    assert not set(data.train.texts) & set(data.valid.texts)
    assert any("valid held out from train, stratified 10%" in n for n in data.notes)
    assert load_classification_data(tmp_path / "d", seed=3).valid == data.valid
    assert load_classification_data(tmp_path / "d", seed=4).valid != data.valid


def test_one_tsv_file_is_split_80_10_10(tmp_path: Path) -> None:
    path = _write(tmp_path / "all.tsv", _tsv(200, ("a", "b", "c", "d")))
    data = load_classification_data(path)
    assert data.name == "all"
    assert (len(data.train), len(data.valid), len(data.test)) == (160, 20, 20)
    assert data.test.counts() == {"a": 5, "b": 5, "c": 5, "d": 5}
    texts = data.train.texts + data.valid.texts + data.test.texts
    assert sorted(texts) == sorted(f"text number {i}" for i in range(200))


def test_csv_and_tsv_with_header_and_named_columns(tmp_path: Path) -> None:
    rows = ["id,review,stars\n"] + [f'{i},"said ""hi"", then {i}",{"5" if i % 2 else "1"}\n' for i in range(40)]
    path = _write(tmp_path / "reviews.csv", "".join(rows))
    data = load_classification_data(path, text_column="review", label_column="stars")
    assert data.labels == ["1", "5"]
    assert 'said "hi", then 0' in data.train.texts + data.valid.texts + data.test.texts
    folder = tmp_path / "csv"
    _write(folder / "train.csv", "text,label\n" + "".join(f"t{i},{i % 2}\n" for i in range(20)))
    _write(folder / "test.csv", "label,text\n1,x\n0,y\n")
    data = load_classification_data(folder)
    assert data.test.texts == ["x", "y"] and data.test.labels == ["1", "0"]
    tsv = _write(tmp_path / "h.tsv", "sentence\tgold\n" + "".join(f"s {i} \t{i % 3}\n" for i in range(30)))
    data = load_classification_data(tsv, text_column="sentence", label_column="gold")
    assert data.labels == ["0", "1", "2"] and all(t.startswith("s ") for t in data.train.texts)
    # A plain TSV whose first line is the header text<TAB>label is read by its header.
    plain = _write(tmp_path / "p.tsv", "text\tlabel\n" + "".join(f"s {i}\t{i % 2}\n" for i in range(30)))
    assert load_classification_data(plain).labels == ["0", "1"]


@pytest.mark.parametrize(
    "files, kwargs, message",
    [
        ({"x.tsv": "a\tone\nb two\n"}, {}, r"x\.tsv:2: no tab; each line must be label<TAB>text"),
        ({"x.tsv": "a\tone\nb\t   \n"}, {}, r"x\.tsv:2: empty text \(label 'b'\)"),
        ({"x.tsv": "a\tone\n\t two\n"}, {}, r"x\.tsv:2: empty label"),
        ({"x.tsv": _tsv(30, ("only",))}, {}, r"only one class \('only'\)"),
        ({"x.tsv": "a\tone\n"}, {}, r"the valid split is empty"),
        ({"x.tsv": ""}, {}, r"x\.tsv has no examples"),
        (
            {"x.csv": "text,label\nhi,a\n"},
            {"label_column": "gold"},
            r"no label column 'gold'; the columns are: 'text', 'label'",
        ),
        ({"x.csv": "text,label\nhi,a,extra\n"}, {}, r"x\.csv:2: 3 fields, but the header has 2 columns"),
        ({"x.csv": "text,label\n,a\n"}, {}, r"x\.csv:2: empty text"),
        ({"x.tsv": b"a\tok\nb\tbad \xff byte\n"}, {}, r"x\.tsv:2: not valid utf-8 \(byte 0xff"),
        ({"d/train.tsv": "a\tx\n"}, {}, r"lacks test\.tsv"),
        ({"d/train.tsv": _tsv(20, ("a",)), "d/test.tsv": "a\tx\n"}, {}, r"only one class"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path: Path, files: dict, kwargs: dict, message: str) -> None:
    for name, content in files.items():
        _write(tmp_path / name, content)
    target = tmp_path / next(iter(files)).split("/")[0]
    with pytest.raises(LmlabError, match=message) as e:
        load_classification_data(target, **kwargs)
    assert "\n" not in str(e.value)


def test_unknown_names_and_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(LmlabError, match=r"'sst5' is neither a classification dataset \(sst2, sst2-phrases, mr\)"):
        load_classification_data("sst5")
    with pytest.raises(LmlabError, match="ptb is a text dataset"):
        load_classification_data("ptb")
    with pytest.raises(LmlabError, match="neither"):
        load_classification_data(tmp_path / "nothing.tsv")
    _write(tmp_path / "d/test.tsv", "a\tx\n")
    with pytest.raises(LmlabError, match="lacks train.tsv"):
        load_classification_data(tmp_path / "d")
    with pytest.raises(LmlabError, match="encoding_errors"):
        load_classification_data("sst2", encoding_errors="ignore")


def test_encoding_errors_replace(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.tsv", b"".join(b"a\tbad \xff %d\nb\tfine %d\n" % (i, i) for i in range(20)))
    data = load_classification_data(path, encoding_errors="replace")
    assert sum("\ufffd" in t for t in data.train.texts + data.valid.texts + data.test.texts) == 20


label_lists = st.lists(st.sampled_from("abcde"), min_size=2, max_size=60)


@settings(max_examples=60, deadline=None)
@given(labels=label_lists, k=st.integers(2, 12), seed=st.integers(0, 5))
def test_stratified_folds_properties(labels: list[str], k: int, seed: int) -> None:
    if k > len(labels):
        with pytest.raises(LmlabError, match="number of folds"):
            stratified_folds(labels, k, seed)
        return
    folds = stratified_folds(labels, k, seed)
    assert len(folds) == k
    tests = [i for _, test in folds for i in test]
    assert sorted(tests) == list(range(len(labels)))  # every example tested exactly once
    for train, test in folds:
        assert sorted(train + test) == list(range(len(labels)))
    sizes = [len(test) for _, test in folds]
    assert max(sizes) - min(sizes) <= 1
    for label in set(labels):
        per_fold = [sum(labels[i] == label for i in test) for _, test in folds]
        assert max(per_fold) - min(per_fold) <= 1  # each class spread evenly
    assert stratified_folds(labels, k, seed) == folds


@pytest.mark.parametrize("k", [0, 1, 7, 2.0])
def test_stratified_folds_bad_k(k) -> None:
    with pytest.raises(LmlabError, match=r"number of folds must be an integer from 2 to the number of examples \(6\)"):
        stratified_folds(["a", "b"] * 3, k, 0)


@settings(max_examples=60, deadline=None)
@given(labels=label_lists, seed=st.integers(0, 5))
def test_stratified_split_properties(labels: list[str], seed: int) -> None:
    parts = stratified_split(labels, (0.8, 0.1, 0.1), seed)
    assert sorted(i for p in parts for i in p) == list(range(len(labels)))
    for label, n in Counter(labels).items():
        got = [sum(labels[i] == label for i in p) for p in parts]
        assert abs(got[0] - 0.8 * n) <= 1 and abs(got[1] - 0.1 * n) <= 1 and abs(got[2] - 0.1 * n) <= 1
        if n == 1:
            assert got[0] == 1  # a lone example stays in training


def test_stratified_split_bad_fractions() -> None:
    with pytest.raises(LmlabError, match="sum to 1"):
        stratified_split(["a", "b"], (0.8, 0.3), 0)
