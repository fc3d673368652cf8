/* The two inner loops of streaming n-gram estimation (lmlab/lm/ngram/external.py), compiled.

Records are fixed-size rows (a numpy structured array) whose first k fields are the n-gram's words, uint32 values
(non-negative int32), compared lexicographically, w0 first.

  sort_records(records, k)        sorts the records in place: a least-significant-digit radix sort on 16-bit digits,
                                  stable, skipping every digit that all records share (a vocabulary below 65,536
                                  words needs one pass per word); a buffer the size of the records is borrowed.
  combine_sorted(records, k, offset) -> n
                                  makes sorted records with equal keys one, in place, adding up their int64 field
                                  at byte ``offset``; the first n rows are the result.
  search_sorted(haystack, needles, out, k): for each needle, the first row of the sorted haystack whose
                                  key is >= the needle's (numpy's searchsorted, side "left"); a binary search that
                                  starts from the previous answer when the needles are sorted (every use here), so
                                  a join of two sorted files is linear.

Both equal the numpy path (external.sort_records / key_view + searchsorted), which tests check.
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

static PyObject *combine_sorted(PyObject *self, PyObject *args) {
    PyObject *obj;
    Py_ssize_t k, offset, n, size;
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "Onn", &obj, &k, &offset)) return NULL;
    if (get_rows(obj, &view, 1, k, &n, &size) < 0) return NULL;
    if (offset < 0 || offset + 8 > size) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "the int64 field lies outside the record");
        return NULL;
    }
    char *data = (char *)view.buf;
    Py_ssize_t out = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 1; i < n; i++) {
        char *row = data + i * size, *last = data + out * size;
        if (memcmp(row, last, 4 * (size_t)k) == 0) {
            int64_t a, b;
            memcpy(&a, last + offset, 8);
            memcpy(&b, row + offset, 8);
            a += b;
            memcpy(last + offset, &a, 8);
        } else if (++out != i) {
            memcpy(data + out * size, row, (size_t)size);
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(n ? out + 1 : 0);
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

static PyMethodDef methods[] = {
    {"sort_records", sort_records, METH_VARARGS, "sort_records(records, k): sort rows in place by their first k uint32 words"},
    {"combine_sorted", combine_sorted, METH_VARARGS,
     "combine_sorted(records, k, offset) -> n: equal keys made one in place, their int64 at offset added"},
    {"search_sorted", search_sorted, METH_VARARGS,
     "search_sorted(haystack, needles, out, k): out[i] = first row of haystack whose key >= needles[i]'s"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_count", NULL, -1, methods};

PyMODINIT_FUNC PyInit__count(void) { return PyModule_Create(&module); }
