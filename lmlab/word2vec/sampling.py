"""The random draws of word2vec, shared draw for draw by the readable and the compiled trainer.

Every draw comes from the word2vec C tool's linear congruential generator,

    state <- state * 25214903917 + 11   (mod 2^64),

whose top 32 bits after each step, ``u32``, are the random number used (the low bits of an LCG modulo a power
of two are the least random). A job (a batch of sentences) starts from its own state, :func:`job_seed`, so that
two trainers given the same jobs draw the same numbers whatever thread runs which job.

Noise words for negative sampling are drawn from the unigram distribution raised to 3/4 (Mikolov et al. 2013b)
with Walker's alias method: two draws per noise word, a column and a coin, in O(1) time and O(V) memory (the C
tool's table of 10^8 entries would take 400 MB).

References: Mikolov et al. 2013b, "Distributed Representations of Words and Phrases and their Compositionality";
Walker 1977, "An efficient method for generating discrete random variables with general distributions";
Vose 1991, "A linear algorithm for generating random numbers with a given distribution"; Steele et al. 2014
(SplitMix64).
"""

from __future__ import annotations

import numpy as np

MASK64 = (1 << 64) - 1
LCG_MULTIPLIER = 25214903917
LCG_INCREMENT = 11
NOISE_POWER = 0.75  # Mikolov et al. 2013b: the unigram distribution to the 3/4 beat unigram and uniform noise


def lcg_next(state: int) -> int:
    """The generator's next state.

    >>> lcg_next(1)
    25214903928
    >>> lcg_next(2**64 - 1)   # wraps modulo 2^64
    18446744048494647710
    """
    return (state * LCG_MULTIPLIER + LCG_INCREMENT) & MASK64


def top32(state: int) -> int:
    """The random number a state gives: its top 32 bits.

    >>> top32(lcg_next(1))
    5
    """
    return state >> 32


def splitmix64(x: int) -> int:
    """A well-mixed 64-bit function of ``x`` (SplitMix64's finaliser): nearby seeds give unrelated states.

    >>> splitmix64(0)
    16294208416658607535
    """
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def job_seed(seed: int, epoch: int, job: int) -> int:
    """The generator's starting state for job number ``job`` of ``epoch`` under ``seed``.

    >>> job_seed(0, 0, 0) == job_seed(0, 0, 0) != job_seed(0, 0, 1)
    True
    """
    return splitmix64(splitmix64(splitmix64(seed & MASK64) ^ epoch) ^ job)


def noise_distribution(counts: np.ndarray, power: float = NOISE_POWER) -> np.ndarray:
    """P_n(w) = c(w)^power / sum_v c(v)^power, the distribution negative samples are drawn from.

    >>> noise_distribution(np.array([16, 1]), power=0.75).round(4)
    array([0.8889, 0.1111])
    """
    weights = np.asarray(counts, dtype=np.float64) ** power
    return weights / weights.sum()


def alias_table(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table for a distribution p over V outcomes (Vose's O(V) construction).

    Column k is chosen uniformly; it keeps k with probability ``threshold[k] / 2^32`` and otherwise gives
    ``alias[k]``. Each column holds 1/V of probability mass: its own share and the remainder from one larger
    outcome, so that P(k) = (threshold[k] + sum over j with alias[j] = k of (2^32 - threshold[j])) / (V 2^32) = p_k.

    >>> threshold, alias = alias_table(np.array([0.5, 0.25, 0.25]))
    >>> (threshold / 2**32).tolist(), alias.tolist()
    ([1.0, 0.75, 0.75], [0, 0, 0])
    """
    p = np.asarray(probabilities, dtype=np.float64)
    size = len(p)
    scaled = p * size / p.sum()  # column mass 1 each
    threshold = np.full(size, 1.0)
    alias = np.arange(size, dtype=np.int32)
    small = [k for k in range(size) if scaled[k] < 1.0]
    large = [k for k in range(size) if scaled[k] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        threshold[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]  # g gives column s what s lacks
        (small if scaled[g] < 1.0 else large).append(g)
    # what is left is 1 up to rounding: keep those columns whole
    as_int = np.minimum(np.round(threshold * 2.0**32), 2.0**32).astype(np.uint64)
    return as_int, alias


def draw_noise(state: int, threshold: np.ndarray, alias: np.ndarray) -> tuple[int, int]:
    """One noise word and the generator's new state: a column from one draw, the coin from the next.

    The column is ``(u32 * V) >> 32``, a uniform pick among V columns without a modulo's bias toward small ones.

    >>> threshold, alias = alias_table(np.array([0.5, 0.25, 0.25]))
    >>> draw_noise(1, threshold, alias)
    (0, 8602081314781131043)
    """
    state = lcg_next(state)
    column = (top32(state) * len(threshold)) >> 32
    state = lcg_next(state)
    word = column if top32(state) < int(threshold[column]) else int(alias[column])
    return word, state


__all__ = [
    "NOISE_POWER",
    "alias_table",
    "draw_noise",
    "job_seed",
    "lcg_next",
    "noise_distribution",
    "splitmix64",
    "top32",
]
