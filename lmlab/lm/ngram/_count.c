/* The inner loops of streaming n-gram estimation (lmlab/lm/ngram/external.py) and of writing the model file
   (lmlab/lm/ngram/binary.py), compiled.

Records are fixed-size rows (a numpy structured array) whose first k fields are the n-gram's words, uint32 values
(non-negative int32), compared lexicographically, w0 first.

  sort_records(records, k)        sorts the records in place: a least-significant-digit radix sort on 16-bit digits,
                                  stable, skipping every digit that all records share (a vocabulary below 65,536
                                  words needs one pass per word); a buffer the size of the records is borrowed.
  combine_sorted(records, k, offset, width=8) -> n
                                  makes sorted records with equal keys one, in place, adding up their count at byte
                                  ``offset`` (int64, or uint32 with width 4: a sum above 2^32 - 1 is an
                                  OverflowError); the first n rows are the result.
  prefix_counts(windows, n_words, k, sentinel, out) -> m
                                  the k-grams of sorted, combined windows (n_words words, then a uint32 count; a
                                  window cut short by its line's end holds ``sentinel``, above every word, in the
                                  places past it): the windows whose first k words are all words, made one per
                                  k-word prefix, their counts added, into out's first m rows (k words, a uint32
                                  count); a sum above 2^32 - 1 is an OverflowError.
  pad_windows(ids, bos, eos, order, sentinel, out)
                                  the windows of counting (stream.windows) of an ``</s>``-terminated id stream
                                  (int32 or int64), with ``<s>`` put before every line first (counts.pad_stream):
                                  out's row i (order words, a uint32 count of 1) holds the padded stream's words
                                  from position i on up to its line's ``</s>``, then ``sentinel``.
  search_sorted(haystack, needles, out, k): for each needle, the first row of the sorted haystack whose
                                  key is >= the needle's (numpy's searchsorted, side "left"); a binary search that
                                  starts from the previous answer when the needles are sorted (every use here), so
                                  a join of two sorted files is linear.

  merge_runs(runs, pos, more, out, n_out, k, offset, width) -> n_out
                                  merges sorted runs (a tuple of buffers of the same records, each read from
                                  pos[i] on) into out after its first n_out rows, with a binary heap of the runs'
                                  heads; equal keys are made one (their count of ``width`` bytes at ``offset``
                                  added, as combine_sorted; offset -1: no combining, the keys are distinct). It
                                  stops when out is full or when a run with more[i] (more records in its file) is
                                  used up, for the caller to refill it; pos[i] says how far each run was read.
  slot_homes(keys, S, lo, hi, idx, home) -> m
                                  the rows i of int64 keys whose home slot mix(key) mod S (binary.mix) lies in
                                  [lo, hi), and those homes, in row order.
  place_slots(home, key, row, logp, bow, n_carry, lo, hi, prev, out, over) -> (prev, n_over)
                                  one region [lo, hi) of a hash table of S slots (binary.hash_slots): entries
                                  placed by linear probing in order of home slot (ties: input order, i.e. row), each
                                  at max(home, prev + 1); the first n_carry entries are those the region before
                                  pushed past its end, placed first. out gets the region's slots (key, row, logp,
                                  bow; key -1 where empty); over ((m, 5) int64) gets the entries pushed past hi, in order
                                  (home, key, row, logp, bow), and prev is then hi - 1.

All equal the numpy path (external.sort_records / key_view + searchsorted, binary.hash_slots), which tests check.
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef BITS
#define BITS 16 /* 65,536 buckets: one pass per word of a vocabulary below 65,536 words */
#endif
#define NDIG ((32 + BITS - 1) / BITS) /* digits a word */
#define DIGITS (1 << BITS)
#define MASK (DIGITS - 1)

static int get_rows(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t k, Py_ssize_t *n, Py_ssize_t *size) {
    if (PyObject_GetBuffer(obj, view, (writable ? PyBUF_WRITABLE : 0) | PyBUF_ND | PyBUF_C_CONTIGUOUS) < 0) return -1;
    if (view->ndim != 1 || view->itemsize < 4 * k || k < 1) {
        PyErr_SetString(PyExc_ValueError, "records must be a 1-D C-contiguous array of rows of at least k uint32 words");
        PyBuffer_Release(view);
        return -1;
    }
    *n = view->shape[0];
    *size = view->itemsize;
    return 0;
}

static inline uint32_t word(const char *row, Py_ssize_t j) {
    uint32_t w;
    memcpy(&w, row + 4 * j, 4);
    return w;
}

static PyObject *sort_records(PyObject *self, PyObject *args) {
    PyObject *obj;
    Py_ssize_t k, n, size;
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "On", &obj, &k)) return NULL;
    if (get_rows(obj, &view, 1, k, &n, &size) < 0) return NULL;
    if (n < 2) {
        PyBuffer_Release(&view);
        Py_RETURN_NONE;
    }
    char *data = (char *)view.buf;
    char *tmp = (char *)malloc((size_t)n * (size_t)size);
    size_t *count = (size_t *)malloc(sizeof(size_t) * DIGITS * NDIG * (size_t)k);
    if (!tmp || !count) {
        free(tmp);
        free(count);
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    char *src = data, *dst = tmp;
    Py_BEGIN_ALLOW_THREADS
    /* every digit's histogram in one read of the records: count[(NDIG j + h) * DIGITS + digit] */
    memset(count, 0, sizeof(size_t) * DIGITS * NDIG * (size_t)k);
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *row = src + i * size;
        for (Py_ssize_t j = 0; j < k; j++) {
            uint32_t w = word(row, j);
            for (int h = 0; h < NDIG; h++) count[(NDIG * j + h) * DIGITS + ((w >> (h * BITS)) & MASK)]++;
        }
    }
    for (Py_ssize_t j = k - 1; j >= 0; j--) {
        for (int h = 0; h < NDIG; h++) {
            int shift = h * BITS;
            size_t *c = count + (NDIG * j + h) * DIGITS;
            if (c[(word(src, j) >> shift) & MASK] == (size_t)n) continue; /* one digit for all: in order */
            size_t at = 0;
            for (int d = 0; d < DIGITS; d++) {
                size_t t = c[d];
                c[d] = at;
                at += t;
            }
/* the scatter, with the row size a constant for the sizes n-gram records have (so each copy is a few moves) */
#define SCATTER(SIZE)                                                                    \
    for (Py_ssize_t i = 0; i < n; i++) {                                                 \
        const char *row = src + i * (SIZE);                                              \
        memcpy(dst + c[(word(row, j) >> shift) & MASK]++ * (SIZE), row, (size_t)(SIZE)); \
    }
            switch (size) {
                case 12: SCATTER(12) break;
                case 16: SCATTER(16) break;
                case 20: SCATTER(20) break;
                case 24: SCATTER(24) break;
                case 28: SCATTER(28) break;
                case 32: SCATTER(32) break;
                case 36: SCATTER(36) break;
                case 40: SCATTER(40) break;
                case 44: SCATTER(44) break;
                case 48: SCATTER(48) break;
                case 52: SCATTER(52) break;
                case 56: SCATTER(56) break;
                default: SCATTER(size)
            }
            char *t = src;
            src = dst;
            dst = t;
        }
    }
    if (src != data) memcpy(data, src, (size_t)n * (size_t)size);
    Py_END_ALLOW_THREADS
    free(tmp);
    free(count);
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

/* adds the count of `row` to that of `last`: an int64, or a uint32 (1 if the sum overflows it) */
static inline int add_count(char *last, const char *row, Py_ssize_t offset, Py_ssize_t width) {
    if (width == 8) {
        int64_t a, b;
        memcpy(&a, last + offset, 8);
        memcpy(&b, row + offset, 8);
        a += b;
        memcpy(last + offset, &a, 8);
        return 0;
    }
    uint32_t a, b;
    memcpy(&a, last + offset, 4);
    memcpy(&b, row + offset, 4);
    int overflow = a > UINT32_MAX - b;
    a += b;
    memcpy(last + offset, &a, 4);
    return overflow;
}

static PyObject *combine_sorted(PyObject *self, PyObject *args) {
    PyObject *obj;
    Py_ssize_t k, offset, n, size, width = 8;
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "Onn|n", &obj, &k, &offset, &width)) return NULL;
    if (get_rows(obj, &view, 1, k, &n, &size) < 0) return NULL;
    if (offset < 0 || offset + width > size || (width != 4 && width != 8)) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "the count (int64 or uint32) lies outside the record");
        return NULL;
    }
    char *data = (char *)view.buf;
    Py_ssize_t out = 0;
    int overflow = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 1; i < n; i++) {
        char *row = data + i * size, *last = data + out * size;
        if (memcmp(row, last, 4 * (size_t)k) == 0) {
            overflow |= add_count(last, row, offset, width);
        } else if (++out != i) {
            memcpy(data + out * size, row, (size_t)size);
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (overflow) {
        PyErr_SetString(PyExc_OverflowError, "a count above 4,294,967,295");
        return NULL;
    }
    return PyLong_FromSsize_t(n ? out + 1 : 0);
}

static PyObject *prefix_counts(PyObject *self, PyObject *args) {
    PyObject *win_obj, *out_obj;
    Py_ssize_t n_words, k, n, size, m, out_size;
    unsigned long sentinel;
    Py_buffer win, out;
    if (!PyArg_ParseTuple(args, "OnnkO", &win_obj, &n_words, &k, &sentinel, &out_obj)) return NULL;
    if (get_rows(win_obj, &win, 0, n_words, &n, &size) < 0) return NULL;
    if (get_rows(out_obj, &out, 1, k, &m, &out_size) < 0) {
        PyBuffer_Release(&win);
        return NULL;
    }
    if (k < 1 || k > n_words || size < 4 * n_words + 4 || out_size != 4 * k + 4 || m < n) {
        PyErr_SetString(PyExc_ValueError, "prefix_counts: windows of n_words words and a uint32 count, out of k words "
                                          "and a uint32 count, one row per window");
        PyBuffer_Release(&win);
        PyBuffer_Release(&out);
        return NULL;
    }
    const char *w = (const char *)win.buf;
    char *o = (char *)out.buf;
    Py_ssize_t got = 0;
    int overflow = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *row = w + i * size;
        if (word(row, k - 1) == (uint32_t)sentinel) continue; /* shorter than k words: its line ended */
        uint32_t c;
        memcpy(&c, row + 4 * n_words, 4);
        char *last = o + (got - 1) * out_size;
        if (got && memcmp(row, last, 4 * (size_t)k) == 0) {
            uint32_t a;
            memcpy(&a, last + 4 * k, 4);
            overflow |= a > UINT32_MAX - c;
            a += c;
            memcpy(last + 4 * k, &a, 4);
        } else {
            char *to = o + got++ * out_size;
            memcpy(to, row, 4 * (size_t)k);
            memcpy(to + 4 * k, &c, 4);
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&win);
    PyBuffer_Release(&out);
    if (overflow) {
        PyErr_SetString(PyExc_OverflowError, "a count above 4,294,967,295");
        return NULL;
    }
    return PyLong_FromSsize_t(got);
}

static PyObject *pad_windows(PyObject *self, PyObject *args) {
    PyObject *ids_obj, *out_obj;
    long long bos, eos;
    Py_ssize_t order, m, size;
    unsigned long sentinel;
    Py_buffer ids, out;
    if (!PyArg_ParseTuple(args, "OLLnkO", &ids_obj, &bos, &eos, &order, &sentinel, &out_obj)) return NULL;
    if (PyObject_GetBuffer(ids_obj, &ids, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    int wide = ids.itemsize == 8;
    const char *f = ids.format ? ids.format + (ids.format[0] && strchr("@=<", ids.format[0]) != NULL) : "";
    if (ids.ndim != 1 || (ids.itemsize != 4 && ids.itemsize != 8) || !f[0] || f[1] || strchr("ilq", f[0]) == NULL) {
        PyErr_SetString(PyExc_ValueError, "pad_windows: ids must be a 1-D array of int32 or int64");
        PyBuffer_Release(&ids);
        return NULL;
    }
    if (get_rows(out_obj, &out, 1, order, &m, &size) < 0) {
        PyBuffer_Release(&ids);
        return NULL;
    }
    Py_ssize_t n = ids.shape[0];
    if (order < 1 || size != 4 * order + 4) {
        PyErr_SetString(PyExc_ValueError, "pad_windows: out's rows must hold order words and a uint32 count");
        goto fail;
    }
    uint32_t *t = (uint32_t *)malloc(sizeof(uint32_t) * (size_t)(m > 0 ? m : 1));
    if (!t) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_ssize_t P = 0;
    int fits = 1;
    Py_BEGIN_ALLOW_THREADS
    /* the padded stream: <s> before the first token of every line (a last line without its </s> too) */
    int line_start = 1;
    for (Py_ssize_t i = 0; i < n && fits; i++) {
        long long w = wide ? ((const int64_t *)ids.buf)[i] : ((const int32_t *)ids.buf)[i];
        if (P + 1 + line_start > m) fits = 0;
        else {
            if (line_start) t[P++] = (uint32_t)bos;
            t[P++] = (uint32_t)w;
            line_start = w == eos;
        }
    }
    if (fits && P == m) {
        /* from the end back: the position of the </s> that ends each position's line (the stream's end if none) */
        char *o = (char *)out.buf;
        Py_ssize_t end = P - 1;
        const uint32_t one = 1;
        for (Py_ssize_t i = P - 1; i >= 0; i--) {
            if (t[i] == (uint32_t)eos) end = i;
            char *row = o + i * size;
            for (Py_ssize_t j = 0; j < order; j++) {
                uint32_t w = i + j <= end ? t[i + j] : (uint32_t)sentinel;
                memcpy(row + 4 * j, &w, 4);
            }
            memcpy(row + 4 * order, &one, 4);
        }
    }
    Py_END_ALLOW_THREADS
    free(t);
    if (!fits || P != m) {
        PyErr_SetString(PyExc_ValueError, "pad_windows: out must have one row per token of the padded stream");
        goto fail;
    }
    PyBuffer_Release(&ids);
    PyBuffer_Release(&out);
    Py_RETURN_NONE;
fail:
    PyBuffer_Release(&ids);
    PyBuffer_Release(&out);
    return NULL;
}

/* -1, 0, 1 as key a is below, equal to, above key b */
static inline int compare(const char *a, const char *b, Py_ssize_t k) {
    for (Py_ssize_t j = 0; j < k; j++) {
        uint32_t x = word(a, j), y = word(b, j);
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

static PyObject *search_sorted(PyObject *self, PyObject *args) {
    PyObject *hay_obj, *needle_obj, *out_obj;
    Py_ssize_t k, n, m, hay_size, needle_size;
    Py_buffer hay, needle, out;
    if (!PyArg_ParseTuple(args, "OOOn", &hay_obj, &needle_obj, &out_obj, &k)) return NULL;
    if (get_rows(hay_obj, &hay, 0, k, &n, &hay_size) < 0) return NULL;
    if (get_rows(needle_obj, &needle, 0, k, &m, &needle_size) < 0) {
        PyBuffer_Release(&hay);
        return NULL;
    }
    if (PyObject_GetBuffer(out_obj, &out, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&hay);
        PyBuffer_Release(&needle);
        return NULL;
    }
    if (out.len != m * (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "out must hold one int64 per needle");
        PyBuffer_Release(&hay);
        PyBuffer_Release(&needle);
        PyBuffer_Release(&out);
        return NULL;
    }
    const char *h = (const char *)hay.buf, *q = (const char *)needle.buf;
    int64_t *pos = (int64_t *)out.buf;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t lo = 0;
    for (Py_ssize_t i = 0; i < m; i++) {
        const char *key = q + i * needle_size;
        if (i && compare(key, q + (i - 1) * needle_size, k) < 0) lo = 0; /* needles out of order: start over */
        /* gallop from lo: find hi with key <= h[hi] (or n), then binary search in [lo, hi] */
        Py_ssize_t step = 1, hi = lo;
        while (hi < n && compare(h + hi * hay_size, key, k) < 0) {
            lo = hi + 1;
            hi += step;
            step *= 2;
        }
        if (hi > n) hi = n;
        while (lo < hi) {
            Py_ssize_t mid = lo + (hi - lo) / 2;
            if (compare(h + mid * hay_size, key, k) < 0) lo = mid + 1;
            else hi = mid;
        }
        pos[i] = lo;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&hay);
    PyBuffer_Release(&needle);
    PyBuffer_Release(&out);
    Py_RETURN_NONE;
}

/* ---- k-way merge of sorted runs */

typedef struct {
    const char *buf;
    Py_ssize_t n, pos;
} Run;

/* the heap holds run indices, the run with the smallest head (then the lowest index) on top */
static inline int run_below(const Run *runs, Py_ssize_t a, Py_ssize_t b, Py_ssize_t size, Py_ssize_t k) {
    int c = compare(runs[a].buf + runs[a].pos * size, runs[b].buf + runs[b].pos * size, k);
    return c < 0 || (c == 0 && a < b);
}

static void sift_down(Py_ssize_t *heap, Py_ssize_t len, Py_ssize_t i, const Run *runs, Py_ssize_t size, Py_ssize_t k) {
    for (;;) {
        Py_ssize_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < len && run_below(runs, heap[l], heap[m], size, k)) m = l;
        if (r < len && run_below(runs, heap[r], heap[m], size, k)) m = r;
        if (m == i) return;
        Py_ssize_t t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
}

static PyObject *merge_runs(PyObject *self, PyObject *args) {
    PyObject *runs_obj, *pos_obj, *more_obj, *out_obj;
    Py_ssize_t n_out, k, offset, width;
    if (!PyArg_ParseTuple(args, "OOOOnnnn", &runs_obj, &pos_obj, &more_obj, &out_obj, &n_out, &k, &offset, &width))
        return NULL;
    if (!PyTuple_Check(runs_obj)) {
        PyErr_SetString(PyExc_TypeError, "runs must be a tuple of record arrays");
        return NULL;
    }
    Py_ssize_t R = PyTuple_GET_SIZE(runs_obj), cap, size, i;
    Py_buffer out, pos_view, more_view;
    if (get_rows(out_obj, &out, 1, k, &cap, &size) < 0) return NULL;
    if (PyObject_GetBuffer(pos_obj, &pos_view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&out);
        return NULL;
    }
    if (PyObject_GetBuffer(more_obj, &more_view, PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&out);
        PyBuffer_Release(&pos_view);
        return NULL;
    }
    Py_buffer *views = (Py_buffer *)calloc((size_t)R + 1, sizeof(Py_buffer));
    Run *runs = (Run *)calloc((size_t)R + 1, sizeof(Run));
    Py_ssize_t *heap = (Py_ssize_t *)calloc((size_t)R + 1, sizeof(Py_ssize_t));
    Py_ssize_t got = 0;
    PyObject *result = NULL;
    if (!views || !runs || !heap) {
        PyErr_NoMemory();
        goto done;
    }
    if (pos_view.len != R * 8 || more_view.len != R || n_out < 0 || n_out > cap ||
        (offset >= 0 && (offset + width > size || (width != 4 && width != 8)))) {
        PyErr_SetString(PyExc_ValueError, "merge_runs: pos (int64) and more (uint8) must have one value per run, "
                                          "and the count field must lie inside the record");
        goto done;
    }
    int64_t *pos = (int64_t *)pos_view.buf;
    const uint8_t *more = (const uint8_t *)more_view.buf;
    for (got = 0; got < R; got++) {
        Py_ssize_t n, run_size;
        if (get_rows(PyTuple_GET_ITEM(runs_obj, got), &views[got], 0, k, &n, &run_size) < 0) goto done;
        if (run_size != size || pos[got] < 0 || pos[got] > n) {
            PyBuffer_Release(&views[got]);
            PyErr_SetString(PyExc_ValueError, "merge_runs: runs must hold the output's records, pos within them");
            goto done;
        }
        runs[got].buf = (const char *)views[got].buf;
        runs[got].n = n;
        runs[got].pos = pos[got];
    }
    char *dst = (char *)out.buf;
    int overflow = 0;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t len = 0;
    int stop = 0;
    for (i = 0; i < R; i++) {
        if (runs[i].pos < runs[i].n) heap[len++] = i;
        else if (more[i]) stop = 1; /* a run to refill first */
    }
    for (i = len / 2 - 1; i >= 0; i--) sift_down(heap, len, i, runs, size, k);
    while (!stop && len) {
        Run *r = &runs[heap[0]];
        const char *row = r->buf + r->pos * size;
        char *last = dst + (n_out - 1) * size;
        if (offset >= 0 && n_out > 0 && memcmp(row, last, 4 * (size_t)k) == 0) {
            overflow |= add_count(last, row, offset, width);
        } else {
            if (n_out == cap) break;
            memcpy(dst + n_out * size, row, (size_t)size);
            n_out++;
        }
        r->pos++;
        if (r->pos == r->n) {
            if (more[heap[0]]) stop = 1;
            heap[0] = heap[--len];
        }
        sift_down(heap, len, 0, runs, size, k);
    }
    Py_END_ALLOW_THREADS
    for (i = 0; i < R; i++) pos[i] = runs[i].pos;
    if (overflow) PyErr_SetString(PyExc_OverflowError, "a count above 4,294,967,295");
    else result = PyLong_FromSsize_t(n_out);
done:
    for (i = 0; i < got; i++) PyBuffer_Release(&views[i]);
    free(views);
    free(runs);
    free(heap);
    PyBuffer_Release(&out);
    PyBuffer_Release(&pos_view);
    PyBuffer_Release(&more_view);
    return result;
}

/* ---- the model file's hash tables, a region of slots at a time */

/* splitmix64's finaliser, as binary.mix */
static inline uint64_t mix(uint64_t z) {
    z ^= z >> 30;
    z *= 0xBF58476D1CE4E5B9ULL;
    z ^= z >> 27;
    z *= 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z;
}

static int get_int64s(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t *n) {
    if (PyObject_GetBuffer(obj, view, (writable ? PyBUF_WRITABLE : 0) | PyBUF_C_CONTIGUOUS) < 0) return -1;
    if (view->len % 8) {
        PyErr_SetString(PyExc_ValueError, "expected arrays of 8-byte values");
        PyBuffer_Release(view);
        return -1;
    }
    *n = view->len / 8;
    return 0;
}

static PyObject *slot_homes(PyObject *self, PyObject *args) {
    PyObject *keys_obj, *idx_obj, *home_obj;
    unsigned long long S, lo, hi;
    Py_ssize_t n, n_idx, n_home;
    Py_buffer keys, idx, home;
    if (!PyArg_ParseTuple(args, "OKKKOO", &keys_obj, &S, &lo, &hi, &idx_obj, &home_obj)) return NULL;
    if (S == 0) {
        PyErr_SetString(PyExc_ValueError, "S must be at least 1");
        return NULL;
    }
    if (get_int64s(keys_obj, &keys, 0, &n) < 0) return NULL;
    if (get_int64s(idx_obj, &idx, 1, &n_idx) < 0) {
        PyBuffer_Release(&keys);
        return NULL;
    }
    if (get_int64s(home_obj, &home, 1, &n_home) < 0) {
        PyBuffer_Release(&keys);
        PyBuffer_Release(&idx);
        return NULL;
    }
    Py_ssize_t m = 0;
    if (n_idx < n || n_home < n) {
        PyErr_SetString(PyExc_ValueError, "idx and home must hold one value per key");
    } else {
        const uint64_t *q = (const uint64_t *)keys.buf;
        int64_t *ix = (int64_t *)idx.buf, *h = (int64_t *)home.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < n; i++) {
            uint64_t s = mix(q[i]) % S;
            if (s >= lo && s < hi) {
                ix[m] = i;
                h[m++] = (int64_t)s;
            }
        }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&keys);
    PyBuffer_Release(&idx);
    PyBuffer_Release(&home);
    return PyErr_Occurred() ? NULL : PyLong_FromSsize_t(m);
}

static PyObject *place_slots(PyObject *self, PyObject *args) {
    PyObject *objs[7];
    Py_ssize_t n_carry;
    long long lo, hi, prev;
    if (!PyArg_ParseTuple(args, "OOOOOnLLLOO", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &n_carry, &lo, &hi,
                          &prev, &objs[5], &objs[6]))
        return NULL;
    /* home, key, row, logp, bow (8-byte values, m each), out ((hi - lo) x 4), over (m) */
    Py_buffer v[7];
    Py_ssize_t len[7] = {0}, got;
    for (got = 0; got < 7; got++)
        if (get_int64s(objs[got], &v[got], got >= 5, &len[got]) < 0) break;
    PyObject *result = NULL;
    Py_ssize_t m = len[0], R = (Py_ssize_t)(hi - lo);
    if (got < 7) goto done;
    if (R < 0 || n_carry < 0 || n_carry > m || len[1] != m || len[2] != m || len[3] != m || len[4] != m ||
        len[5] != 4 * R || len[6] < 5 * m) {
        PyErr_SetString(PyExc_ValueError, "place_slots: m entries, (hi - lo) x 4 slots, m x 5 for those past hi");
        goto done;
    }
    const int64_t *home = (const int64_t *)v[0].buf, *key = (const int64_t *)v[1].buf, *row = (const int64_t *)v[2].buf;
    const int64_t *logp = (const int64_t *)v[3].buf, *bow = (const int64_t *)v[4].buf; /* float64 bits */
    int64_t *out = (int64_t *)v[5].buf, *over = (int64_t *)v[6].buf;
    for (Py_ssize_t i = n_carry; i < m; i++) {
        if (home[i] < lo || home[i] >= hi) {
            PyErr_SetString(PyExc_ValueError, "place_slots: an entry's home lies outside the region");
            goto done;
        }
    }
    /* The entries after the carried ones, sorted by home, stable (rows stay in order), in two steps that stay in
       the cache: copied whole into buckets of SUB consecutive home slots, then each bucket counting-sorted. */
    enum { SUB_BITS = 14, SUB = 1 << SUB_BITS };
    typedef struct {
        int64_t home, key, row, logp, bow;
    } Entry;
    Py_ssize_t n_sub = (R >> SUB_BITS) + 1, n_new = m - n_carry;
    Py_ssize_t *start = (Py_ssize_t *)calloc((size_t)n_sub + 1, sizeof(Py_ssize_t));
    Entry *e = (Entry *)malloc(sizeof(Entry) * (size_t)(n_new + 1));
    Py_ssize_t *count = (Py_ssize_t *)malloc(sizeof(Py_ssize_t) * (SUB + 1));
    Entry *sorted = NULL;
    if (start && e && count) {
        for (Py_ssize_t i = n_carry; i < m; i++) start[((home[i] - lo) >> SUB_BITS) + 1]++;
        Py_ssize_t longest = 1;
        for (Py_ssize_t b = 1; b <= n_sub; b++) longest = start[b] > longest ? start[b] : longest;
        sorted = (Entry *)malloc(sizeof(Entry) * (size_t)longest);
    }
    if (!start || !e || !sorted || !count) {
        free(start);
        free(e);
        free(sorted);
        free(count);
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t n_over = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t b = 0; b < n_sub; b++) start[b + 1] += start[b];
    for (Py_ssize_t i = n_carry; i < m; i++) {
        Entry *to = e + start[(home[i] - lo) >> SUB_BITS]++;
        to->home = home[i];
        to->key = key[i];
        to->row = row[i];
        to->logp = logp[i];
        to->bow = bow[i];
    }
    /* start[b] is now the end of bucket b */
    for (Py_ssize_t s = 0; s < 4 * R; s++) out[s] = -1;
#define PLACE(HOME, KEY, ROW, LOGP, BOW)                    \
    do {                                                    \
        long long at = (HOME) > prev + 1 ? (HOME) : prev + 1; \
        if (at < hi) {                                      \
            int64_t *slot = out + 4 * (at - lo);            \
            slot[0] = (KEY);                                \
            slot[1] = (ROW);                                \
            slot[2] = (LOGP);                               \
            slot[3] = (BOW);                                \
        } else {                                            \
            int64_t *o = over + 5 * n_over++;               \
            o[0] = (HOME);                                  \
            o[1] = (KEY);                                   \
            o[2] = (ROW);                                   \
            o[3] = (LOGP);                                  \
            o[4] = (BOW);                                   \
        }                                                   \
        prev = at;                                          \
    } while (0)
    for (Py_ssize_t i = 0; i < n_carry; i++) PLACE(home[i], key[i], row[i], logp[i], bow[i]);
    Py_ssize_t first = 0;
    for (Py_ssize_t b = 0; b < n_sub; b++) {
        Py_ssize_t end = start[b], len = end - first;
        Entry *in = e + first;
        memset(count, 0, sizeof(Py_ssize_t) * (SUB + 1));
        for (Py_ssize_t i = 0; i < len; i++) count[((in[i].home - lo) & (SUB - 1)) + 1]++;
        for (Py_ssize_t h = 0; h < SUB; h++) count[h + 1] += count[h];
        for (Py_ssize_t i = 0; i < len; i++) sorted[count[(in[i].home - lo) & (SUB - 1)]++] = in[i];
        for (Py_ssize_t i = 0; i < len; i++) PLACE(sorted[i].home, sorted[i].key, sorted[i].row, sorted[i].logp, sorted[i].bow);
        first = end;
    }
#undef PLACE
    if (n_over) prev = hi - 1; /* those pushed past hi are placed again from hi on, in the next region */
    Py_END_ALLOW_THREADS
    free(start);
    free(sorted);
    free(count);
    free(e);
    result = Py_BuildValue("Ln", prev, n_over);
done:
    for (Py_ssize_t i = 0; i < got; i++) PyBuffer_Release(&v[i]);
    return result;
}

static PyMethodDef methods[] = {
    {"sort_records", sort_records, METH_VARARGS, "sort_records(records, k): sort rows in place by their first k uint32 words"},
    {"combine_sorted", combine_sorted, METH_VARARGS,
     "combine_sorted(records, k, offset, width=8) -> n: equal keys made one in place, their counts added"},
    {"prefix_counts", prefix_counts, METH_VARARGS,
     "prefix_counts(windows, n_words, k, sentinel, out) -> m: the k-word prefixes of sorted windows, counts added"},
    {"pad_windows", pad_windows, METH_VARARGS,
     "pad_windows(ids, bos, eos, order, sentinel, out): the windows of counting of the stream with <s> put in"},
    {"search_sorted", search_sorted, METH_VARARGS,
     "search_sorted(haystack, needles, out, k): out[i] = first row of haystack whose key >= needles[i]'s"},
    {"merge_runs", merge_runs, METH_VARARGS,
     "merge_runs(runs, pos, more, out, n_out, k, offset, width) -> n_out: sorted runs merged into out"},
    {"slot_homes", slot_homes, METH_VARARGS,
     "slot_homes(keys, S, lo, hi, idx, home) -> m: rows whose home slot lies in [lo, hi), and their homes"},
    {"place_slots", place_slots, METH_VARARGS,
     "place_slots(home, key, row, logp, bow, n_carry, lo, hi, prev, out, over) -> (prev, n_over)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_count", NULL, -1, methods};

PyMODINIT_FUNC PyInit__count(void) { return PyModule_Create(&module); }
