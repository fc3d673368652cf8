"""The Huffman tree of hierarchical softmax: each word's path of binary decisions from the root to its leaf.

Hierarchical softmax (Morin & Bengio 2005; Mikolov et al. 2013b) replaces the softmax over V words by V - 1
binary logistic units, one per inner node of a binary tree with the words at its leaves:

    p(w | h) = prod over the nodes n_1 .. n_L on the path to w of sigma((1 - 2 code_j) h . v'_{n_j}),

where ``code_j`` is 0 or 1 as the path goes one way or the other at node n_j. A Huffman tree built on the word
counts gives frequent words short paths (Mikolov et al. 2013a), so a training step costs about log2(V) dot
products on average, less for frequent words.

References: Huffman 1952; Morin & Bengio 2005, "Hierarchical Probabilistic Neural Network Language Model";
Mikolov et al. 2013a, "Efficient Estimation of Word Representations in Vector Space"; the word2vec C tool's
CreateBinaryTree.
"""

from __future__ import annotations

import numpy as np


def huffman_tree(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes and inner-node points of every word, from counts sorted most frequent first.

    Returns ``(offsets, codes, points)``: word w's path is ``codes[offsets[w]:offsets[w + 1]]`` (root first, 0 or
    1 at each node) through the inner nodes ``points[...]`` (0 is the root; there are V - 1 inner nodes). The
    tree merges the two lightest nodes, leaves before inner nodes on a tie, as the C tool's two-queue
    construction does on sorted counts (O(V)).

    >>> offsets, codes, points = huffman_tree(np.array([4, 2, 1, 1]))
    >>> [codes[offsets[w]:offsets[w + 1]].tolist() for w in range(4)]
    [[1], [0, 1], [0, 0, 1], [0, 0, 0]]
    >>> [points[offsets[w]:offsets[w + 1]].tolist() for w in range(4)]
    [[0], [0, 1], [0, 1, 2], [0, 1, 2]]
    """
    counts = np.asarray(counts, dtype=np.int64)
    size = len(counts)
    if size < 2:  # one word: no decision to make
        return np.zeros(size + 1, dtype=np.int64), np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.int32)
    assert np.all(counts[:-1] >= counts[1:]), "counts must be sorted most frequent first"
    weight = np.concatenate([counts, np.full(size - 1, np.iinfo(np.int64).max // 4)])
    parent = np.zeros(2 * size - 1, dtype=np.int64)
    branch = np.zeros(2 * size - 1, dtype=np.uint8)
    leaf, inner = size - 1, size  # the lightest leaf left; the lightest inner node made (made in rising weight)

    def lightest() -> int:
        nonlocal leaf, inner
        if leaf >= 0 and weight[leaf] < weight[inner]:
            leaf -= 1
            return leaf + 1
        inner += 1
        return inner - 1

    for a in range(size - 1):
        first, second = lightest(), lightest()
        weight[size + a] = weight[first] + weight[second]
        parent[first] = parent[second] = size + a
        branch[second] = 1
    root = 2 * size - 2
    paths_codes, paths_points = [], []
    for w in range(size):
        code, point = [], []
        node = w
        while node != root:
            code.append(branch[node])
            node = int(parent[node])
            point.append(root - node)  # inner node size + a is numbered from the root down: root -> 0
        paths_codes.append(code[::-1])
        paths_points.append(point[::-1])
    offsets = np.zeros(size + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(c) for c in paths_codes])
    codes = np.array([b for c in paths_codes for b in c], dtype=np.uint8)
    points = np.array([p for c in paths_points for p in c], dtype=np.int32)
    return offsets, codes, points


__all__ = ["huffman_tree"]
