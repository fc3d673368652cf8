"""MNIST's IDX format: round trips, the real files' shapes and label counts, and bad files named in one line."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from lmlab.errors import LmlabError
from lmlab.vision.idx import idx_bytes, read_idx, write_idx


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip(tmp_path, dtype, name):
    a = (np.arange(2 * 3 * 4) - 7).astype(dtype).reshape(2, 3, 4)
    path = write_idx(tmp_path / name, a)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and np.array_equal(a, b)


def test_header_layout():
    # magic 00 00 08 03, then 2, 2, 3 as big-endian 32-bit integers, then the bytes
    data = idx_bytes(np.arange(12, dtype=np.uint8).reshape(2, 2, 3))
    assert data[:16].hex() == "00000803" + "00000002" + "00000002" + "00000003"
    assert data[16:] == bytes(range(12))
    assert idx_bytes(np.array([1], dtype=np.int32))[8:] == b"\x00\x00\x00\x01"  # values big-endian too


def test_real_mnist_files(shared_data):
    images = read_idx(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    # the published class counts of MNIST's test set
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    train_labels = read_idx(shared_data / "mnist" / "train-labels-idx1-ubyte.gz")
    assert np.bincount(train_labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_wrong_magic_is_named(tmp_path):
    path = tmp_path / "images.idx"
    path.write_bytes(b"\x12\x34\x08\x03" + bytes(20))
    with pytest.raises(LmlabError, match=r"images.idx: not an IDX file \(magic number 12340803; expected 0000"):
        read_idx(path)
    path.write_bytes(b"PNG")
    with pytest.raises(LmlabError, match="not an IDX file"):
        read_idx(path)


def test_truncated_file_names_the_expected_size(tmp_path):
    data = idx_bytes(np.zeros((3, 28, 28), dtype=np.uint8))
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(data[:-100]))
    with pytest.raises(LmlabError) as e:
        read_idx(path)
    message = str(e.value)
    assert message == (
        f"{path}: truncated IDX file: its header (3 x 28 x 28 unsigned bytes) needs 2,368 bytes, found 2,268"
    )
    path.write_bytes(data + b"extra")
    with pytest.raises(LmlabError, match="IDX file with bytes after its data"):
        read_idx(path)
    path.write_bytes(data[:10])
    with pytest.raises(LmlabError, match="shorter than its 16-byte header"):
        read_idx(path)


def test_broken_gzip_and_huge_header(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(100, np.uint8)))[:30])
    with pytest.raises(LmlabError, match="not a valid gzip file"):
        read_idx(path)
    huge = tmp_path / "huge"
    huge.write_bytes(b"\x00\x00\x08\x03" + (60_000).to_bytes(4, "big") + (60_000).to_bytes(4, "big") * 2)
    with pytest.raises(LmlabError, match="the header asks for 216,000,000,000,000 values"):
        read_idx(huge)
