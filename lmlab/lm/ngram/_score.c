/* The compiled n-gram scorer: log10 p of every token of an id stream, one token after another, without the GIL.
 *
 * It computes exactly what NgramLM.log10_stream_numpy (lmlab/lm/ngram/model.py) computes, the same floating-point
 * operations in the same order, so both give the same bits (tests/lm/ngram/test_binary.py checks it). The stream
 * is read as lmlab pads it: an <s> in front of every line (a line ends at </s>), scored but not returned.
 *
 * For each position i (token w) and each order k = 2..N whose context, the (k-1)-gram ending at position i-1,
 * is in the tables (its row c was found at the previous position):
 *     the k-gram's key q = c * V + w is looked up in order k's hash table (lmlab/lm/ngram/binary.py: linear
 *     probing from mix(q) mod S_k, slots of (key, row, logp, bow), the highest order's of (key, logp));
 *     found: log10 p = its logp, the back-offs gathered so far are dropped;
 *     not found: the context's back-off weight bow_{k-1}[c] (kept from its own slot) is added.
 * So an order costs about one cache miss, as in KenLM's probing structure (Heafield 2011). The orders' look-ups
 * at one position are independent of one another, and the lines of the stream nearly so: the slots of every order
 * are prefetched before any is read, and the stream is cut into parts walked side by side (score_stream), so
 * that about 8 x (N - 1) misses are in flight instead of one: 2x faster on a model much larger than the cache.
 *
 * A model file much larger than what a stream looks up in it can be read with pread instead of through its mapping
 * (fd >= 0): each look-up then reads its slots (16 or 32 bytes each) from the page cache, and the process maps none of the
 * file's pages (on this kernel a fault on a large page-cache folio maps the whole folio: a few thousand look-ups in
 * a 5 GB model file mapped gigabytes into the process). The numbers are the same either way.
 *
 * The Python side (lmlab/lm/ngram/fast.py) passes the arrays of a checked model file or of a model in memory;
 * the checks here (every id below V; every row a slot gives inside its table; at most S_k probes) keep a damaged
 * file from making this read outside the arrays or loop for ever.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ORDER 10

/* x mod d for a divisor d fixed in advance, without a division (a 64-bit divide takes tens of cycles and is not
 * pipelined: four of them per token were about a third of the scoring time): Granlund and Montgomery, "Division by
 * invariant integers using multiplication" (1994), figure 4.1, with N = 64. For d >= 1, l = ceil(log2 d),
 * m = floor(2^64 (2^l - d) / d) + 1, t = (m x) >> 64: x / d = (t + ((x - t) >> min(l, 1))) >> max(l - 1, 0),
 * exactly, for every 64-bit x; the remainder follows. tests/lm/ngram/test_binary.py compares it with % (remainder). */
typedef struct {
    uint64_t d, m;
    int shift1, shift2;
} Divisor;

#ifdef __SIZEOF_INT128__
static Divisor divisor(uint64_t d) {
    int l = 0;
    while (l < 64 && ((unsigned __int128)1 << l) < d) l++;
    Divisor v = {d, (uint64_t)((((unsigned __int128)1 << l) - d) * ((unsigned __int128)1 << 64) / d + 1), l < 1 ? l : 1,
                 l > 1 ? l - 1 : 0};
    return v;
}

static inline uint64_t modulo(uint64_t x, const Divisor *v) {
    uint64_t t = (uint64_t)(((unsigned __int128)v->m * x) >> 64);
    uint64_t q = (t + ((x - t) >> v->shift1)) >> v->shift2;
    return x - q * v->d;
}
#else /* a compiler without 128-bit integers: the division itself */
static Divisor divisor(uint64_t d) {
    Divisor v = {d, 0, 0, 0};
    return v;
}

static inline uint64_t modulo(uint64_t x, const Divisor *v) { return x % v->d; }
#endif

typedef struct {
    int order; /* the effective order: every table up to it holds n-grams */
    int64_t vocab_size;
    int64_t n[MAX_ORDER + 1];            /* n[k]: rows of order k */
    const int64_t *keys[MAX_ORDER + 1];  /* keys[k]: (n[k],) */
    const double *logp[MAX_ORDER + 1];   /* logp[k]: (n[k],) */
    const double *bow[MAX_ORDER + 1];    /* bow[k]: (n[k],) */
    const int64_t *slots[MAX_ORDER + 1]; /* slots[k]: (S[k], width[k]) (key, row, logp bits, bow bits), or for
                                            width 2 (key, logp bits), k >= 2 */
    uint64_t size[MAX_ORDER + 1];        /* S[k] */
    Divisor by_size[MAX_ORDER + 1];      /* S[k], for modulo */
    int width[MAX_ORDER + 1];            /* 4 or 2 */
    double missing_context_bow;
    int fd;                              /* -1: slots[k] read in memory; else with pread at slot_offset[k] of fd */
    int64_t slot_offset[MAX_ORDER + 1];
    int *read_errno;                     /* set where a pread fails (0: none) */
} Tables;

/* splitmix64's finaliser, as binary.mix */
static inline uint64_t mix(uint64_t z) {
    z ^= z >> 30;
    z *= 0xBF58476D1CE4E5B9ULL;
    z ^= z >> 27;
    z *= 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

typedef struct {
    int64_t key, row;
    double logp, bow;
} Slot;

/* The state of a walk along the stream: the rows and back-offs of the n-grams ending at the previous position
 * (row -1: not in the tables) and the position's history length. */
typedef struct {
    int64_t rows[MAX_ORDER + 1];
    double bows[MAX_ORDER + 1];
    int64_t hist;
} State;

/* A line start's state, as at the stream's start: only <s> behind, scored as a context. */
static void start_state(const Tables *t, int64_t bos, State *s) {
    for (int k = 0; k <= MAX_ORDER; k++) s->rows[k] = -1, s->bows[k] = 0.0;
    s->rows[1] = bos;
    s->bows[1] = t->bow[1][bos];
    s->hist = 1;
}

/* The key of n-gram (context row c, word w): c * V + w, in unsigned arithmetic (rows and V are checked only against
 * the file's size, so a damaged file could overflow it). */
static inline uint64_t key(const Tables *t, int64_t c, int64_t w) {
    return (uint64_t)c * (uint64_t)t->vocab_size + (uint64_t)w;
}

/* The home slot of each order's query for token w after state `prev`, prefetched: the orders' look-ups are
 * independent of one another, so their cache misses overlap instead of following each other. */
static inline void prepare(const Tables *t, int64_t w, const State *prev, uint64_t *home) {
    for (int k = 2; k <= t->order; k++) {
        int64_t c = prev->rows[k - 1];
        if (c < 0) continue;
        home[k] = modulo(mix(key(t, c, w)), &t->by_size[k]);
        if (t->fd < 0) __builtin_prefetch(t->slots[k] + home[k] * t->width[k]);
    }
}

/* Slot `at` of order k into *buf, its fields as (key, row, logp, bow) whatever its width (a slot of width 2, the
 * highest order's, gets row 0 and bow 0: neither is looked up); read in memory, or with pread. Returns -1 where
 * the read fails (*t->read_errno set). */
static inline int slot_at(const Tables *t, int k, uint64_t at, Slot *buf) {
    int64_t f[4];
    const int64_t *p;
    size_t bytes = 8 * (size_t)t->width[k];
    if (t->fd < 0) {
        p = t->slots[k] + at * t->width[k];
    } else {
        ssize_t got = pread(t->fd, f, bytes, (off_t)(t->slot_offset[k] + (int64_t)(at * bytes)));
        if (got != (ssize_t)bytes) {
            *t->read_errno = got < 0 ? errno : EIO; /* a short read: the file shrank since its header was checked */
            return -1;
        }
        p = f;
    }
    buf->key = p[0];
    if (t->width[k] == 4) {
        buf->row = p[1];
        memcpy(&buf->logp, &p[2], 8);
        memcpy(&buf->bow, &p[3], 8);
    } else {
        buf->row = 0;
        memcpy(&buf->logp, &p[1], 8);
        buf->bow = 0.0;
    }
    return 0;
}

/* Key q in order k from its home slot on, into *s: 1 found, 0 absent; *damaged is set if the table is (a row
 * outside it, no empty slot) or cannot be read. */
static inline int find_from(const Tables *t, int k, int64_t q, uint64_t at, Slot *s, int *damaged) {
    for (uint64_t probes = 0; probes < t->size[k]; probes++) {
        if (slot_at(t, k, at, s) < 0) break;
        if (s->key == q) {
            if (s->row < 0 || s->row >= t->n[k]) break;
            return 1;
        }
        if (s->key == -1) return 0;
        at = at + 1 == t->size[k] ? 0 : at + 1;
    }
    *damaged = 1;
    return 0;
}

/* Scores token w after state `prev` (its home slots prepared) into *out and sets `cur` for the next position.
 * Returns 0, or -1 for a damaged table. */
static inline int score_position(const Tables *t, int64_t w, const State *prev, const uint64_t *home, State *cur,
                                 double *out) {
    double lp = t->logp[1][w], bows = 0.0;
    int64_t longest = 0; /* longest context in the tables, for stupid backoff */
    int damaged = 0;
    cur->rows[1] = w;
    cur->bows[1] = t->bow[1][w];
    for (int k = 2; k <= t->order; k++) {
        cur->rows[k] = -1;
        int64_t c = prev->rows[k - 1];
        if (c < 0) continue;
        longest = k - 1;
        Slot s;
        if (find_from(t, k, (int64_t)key(t, c, w), home[k], &s, &damaged)) {
            lp = s.logp;
            bows = 0.0;
            cur->rows[k] = s.row;
            cur->bows[k] = s.bow;
        } else {
            bows += prev->bows[k - 1];
        }
    }
    if (damaged) return -1;
    if (t->missing_context_bow != 0.0) {
        int64_t available = prev->hist < t->order - 1 ? prev->hist : t->order - 1;
        bows += (double)(available - longest) * t->missing_context_bow;
    }
    *out = lp + bows;
    cur->hist = prev->hist + 1;
    return 0;
}

/* One walk along ids[begin, end): the token at i after the state `s`; at a line start (the token before is
 * </s>) <s> is scored first, after that state, as a context (its score is not kept). */
typedef struct {
    int64_t i, end;
    State s[2]; /* s[p]: the state before the pending token */
    int p;
    int at_bos; /* the pending token is the <s> of a new line */
    uint64_t home[MAX_ORDER + 1];
} Walk;

static inline int64_t pending(const Walk *a, const int32_t *ids, int64_t bos) { return a->at_bos ? bos : ids[a->i]; }

/* Scores the walk's pending token; returns 0, or -1 for a damaged table. */
static inline int step(const Tables *t, Walk *a, const int32_t *ids, int64_t bos, int64_t eos, double *out) {
    double ignored;
    State *prev = &a->s[a->p], *cur = &a->s[1 - a->p];
    if (a->at_bos) {
        State before = *prev;
        before.hist = 0;
        if (score_position(t, bos, &before, a->home, cur, &ignored) < 0) return -1;
        a->at_bos = 0;
    } else {
        if (score_position(t, ids[a->i], prev, a->home, cur, &out[a->i]) < 0) return -1;
        a->at_bos = ids[a->i] == eos;
        a->i++;
    }
    a->p = 1 - a->p;
    return 0;
}

static void walk_from(Walk *a, int64_t begin, int64_t end, const State *s) {
    a->i = begin;
    a->end = end;
    a->s[0] = *s;
    a->p = 0;
    a->at_bos = 0;
}

/* Runs one walk to its end; returns 0, or -1 for a damaged table. */
static int walk_alone(const Tables *t, Walk *a, const int32_t *ids, int64_t bos, int64_t eos, double *out) {
    while (a->i < a->end) {
        prepare(t, pending(a, ids, bos), &a->s[a->p], a->home);
        if (step(t, a, ids, bos, eos, out) < 0) return -1;
    }
    return 0;
}

#define WALKS 8       /* walks in step: 8 x (N - 1) look-ups in flight; 4 and 16 were slower on PTB's 5-gram */
#define MIN_PART 4096 /* tokens: below this a stream is one walk */

/* log10 p of every id of the stream; returns 0, or -1 for a damaged table.
 *
 * The stream is cut at line ends into up to WALKS parts, walked side by side one position each in turn, so that
 * the cache misses of the parts overlap. A part's walk starts as a line start does (<s> behind); the readable
 * path instead scores that <s> after the previous line's </s>, which differs only where the tables hold n-grams
 * that run across "</s> <s>". So each part's start is checked against the previous part's end state, in order,
 * and a part whose start differs is walked again from the right state: the same numbers in every case. */
static int score_stream(const Tables *t, const int32_t *ids, int64_t n, int64_t bos, int64_t eos, double *out) {
    Walk walks[WALKS];
    int64_t begin[WALKS + 1];
    int parts = 0;
    State start;
    start_state(t, bos, &start);
    begin[0] = 0;
    for (int64_t at = 0; parts < WALKS && at < n;) {
        int64_t cut = n - at < MIN_PART ? n : at + (n - at) / (WALKS - parts);
        while (cut < n && ids[cut - 1] != eos) cut++; /* a part ends at a line end */
        walk_from(&walks[parts], at, cut, &start);
        begin[++parts] = cut;
        at = cut;
    }
    int active = parts;
    while (active > 0) {
        active = 0;
        for (int j = 0; j < parts; j++) {
            Walk *a = &walks[j];
            if (a->i < a->end) prepare(t, pending(a, ids, bos), &a->s[a->p], a->home), active++;
        }
        for (int j = 0; j < parts; j++) {
            Walk *a = &walks[j];
            if (a->i < a->end && step(t, a, ids, bos, eos, out) < 0) return -1;
        }
    }
    for (int j = 1; j < parts; j++) {
        /* the state after the previous part's last </s>, then its <s>: the same as a fresh start? */
        Walk check;
        walk_from(&check, begin[j], begin[j], &walks[j - 1].s[walks[j - 1].p]);
        check.at_bos = 1;
        prepare(t, bos, &check.s[0], check.home);
        if (step(t, &check, ids, bos, eos, out) < 0) return -1;
        const State *got = &check.s[check.p];
        int same = 1;
        for (int k = 2; k <= t->order; k++) same &= got->rows[k] == -1;
        if (same) continue;
        walk_from(&walks[j], begin[j], begin[j + 1], &walks[j - 1].s[walks[j - 1].p]);
        walks[j].at_bos = 1;
        if (walk_alone(t, &walks[j], ids, bos, eos, out) < 0) return -1;
    }
    return 0;
}

static int get_buffer(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t itemsize, const char *name) {
    if (PyObject_GetBuffer(obj, view, writable ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS : PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (view->len % itemsize != 0) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes is not a whole number of %zd-byte items", name, view->len,
                     itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

#define MAX_BUFFERS (2 + 4 * MAX_ORDER)

static PyObject *log10_stream(PyObject *self, PyObject *args) {
    PyObject *ids_obj, *out_obj, *keys_obj, *logp_obj, *bow_obj, *slots_obj, *widths_obj, *offsets_obj = NULL;
    long long vocab_size, bos, eos;
    int order, fd = -1, read_errno = 0;
    double missing_context_bow;
    if (!PyArg_ParseTuple(args, "OOO!O!O!O!O!LLLid|iO!", &ids_obj, &out_obj, &PyTuple_Type, &keys_obj, &PyTuple_Type,
                          &logp_obj, &PyTuple_Type, &bow_obj, &PyTuple_Type, &slots_obj, &PyTuple_Type, &widths_obj,
                          &vocab_size, &bos, &eos, &order, &missing_context_bow, &fd, &PyTuple_Type, &offsets_obj))
        return NULL;
    if (fd >= 0 && (offsets_obj == NULL || PyTuple_GET_SIZE(offsets_obj) != order - 1)) {
        PyErr_SetString(PyExc_ValueError, "log10_stream: reading with pread needs the file offset of each of the "
                                          "`order - 1` hash tables");
        return NULL;
    }
    if (order < 1 || order > MAX_ORDER || PyTuple_GET_SIZE(keys_obj) != order || PyTuple_GET_SIZE(logp_obj) != order ||
        PyTuple_GET_SIZE(bow_obj) != order || PyTuple_GET_SIZE(slots_obj) != order - 1 ||
        PyTuple_GET_SIZE(widths_obj) != order - 1) {
        PyErr_SetString(PyExc_ValueError, "log10_stream: keys, logp, bow need `order` arrays, slots and widths "
                                          "`order - 1`");
        return NULL;
    }
    Py_buffer views[MAX_BUFFERS];
    int got = 0;
    Tables t;
    t.order = order;
    t.vocab_size = vocab_size;
    t.missing_context_bow = missing_context_bow;
    t.fd = fd;
    t.read_errno = &read_errno;
    if (get_buffer(ids_obj, &views[got], 0, 4, "ids") < 0) goto fail;
    got++;
    if (get_buffer(out_obj, &views[got], 1, 8, "out") < 0) goto fail;
    got++;
    const int32_t *ids = views[0].buf;
    double *out = views[1].buf;
    int64_t n = views[0].len / 4;
    if (views[1].len / 8 != n) {
        PyErr_SetString(PyExc_ValueError, "log10_stream: out must have one float64 per id");
        goto fail;
    }
    for (int k = 1; k <= order; k++) {
        Py_buffer *v;
        v = &views[got];
        if (get_buffer(PyTuple_GET_ITEM(keys_obj, k - 1), v, 0, 8, "keys") < 0) goto fail;
        got++;
        t.keys[k] = v->buf;
        t.n[k] = v->len / 8;
        v = &views[got];
        if (get_buffer(PyTuple_GET_ITEM(logp_obj, k - 1), v, 0, 8, "logp") < 0) goto fail;
        got++;
        t.logp[k] = v->buf;
        if (v->len / 8 != t.n[k]) goto sizes;
        v = &views[got];
        if (get_buffer(PyTuple_GET_ITEM(bow_obj, k - 1), v, 0, 8, "bow") < 0) goto fail;
        got++;
        t.bow[k] = v->buf;
        if (v->len / 8 != t.n[k]) goto sizes;
        if (k >= 2) {
            long width = PyLong_AsLong(PyTuple_GET_ITEM(widths_obj, k - 2));
            if (width != 2 && width != 4) {
                if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "log10_stream: a slot holds 2 or 4 fields");
                goto fail;
            }
            t.width[k] = (int)width;
            v = &views[got];
            if (get_buffer(PyTuple_GET_ITEM(slots_obj, k - 2), v, 0, 8 * width, "slots") < 0) goto fail;
            got++;
            t.slots[k] = v->buf;
            t.size[k] = (uint64_t)(v->len / (8 * width));
            if (t.size[k] < 1) goto sizes;
            t.by_size[k] = divisor(t.size[k]);
            if (fd >= 0) {
                t.slot_offset[k] = PyLong_AsLongLong(PyTuple_GET_ITEM(offsets_obj, k - 2));
                if (t.slot_offset[k] < 0) {
                    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "log10_stream: a negative offset");
                    goto fail;
                }
            }
        }
    }
    if (t.n[1] != vocab_size || bos < 0 || bos >= vocab_size || eos < 0 || eos >= vocab_size) goto sizes;
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= vocab_size) {
            PyErr_Format(PyExc_ValueError, "token ids must be in [0, %lld), got %d", vocab_size, (int)ids[i]);
            goto fail;
        }
    int status;
    Py_BEGIN_ALLOW_THREADS;
    status = score_stream(&t, ids, n, bos, eos, out);
    Py_END_ALLOW_THREADS;
    if (status < 0 && read_errno != 0) {
        errno = read_errno;
        PyErr_SetFromErrno(PyExc_OSError);
        goto fail;
    }
    if (status < 0) {
        PyErr_SetString(PyExc_ValueError, "a hash table gives a row outside its table or has no empty slot (the model file is damaged)");
        goto fail;
    }
    for (int i = 0; i < got; i++) PyBuffer_Release(&views[i]);
    Py_RETURN_NONE;

sizes:
    PyErr_SetString(PyExc_ValueError, "log10_stream: the tables' sizes do not fit one another");
fail:
    for (int i = 0; i < got; i++) PyBuffer_Release(&views[i]);
    return NULL;
}

/* The sum of scale * a[i], i < n, added up as NumPy's np.sum adds a float64 array up (its pairwise summation,
 * numpy/_core/src/umath/loops_utils.h.src): below 8 terms one after another; up to 128 in 8 running sums, combined
 * as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the rest; above that the two halves (the first a
 * multiple of 8 long) each summed so and added. So the total equals np.sum(scale * a) bit for bit, which is what
 * lmlab.lm.evaluate computes from the numpy path's log-probabilities. */
static double pairwise_sum(const double *a, int64_t n, double scale) {
    if (n < 8) {
        double res = -0.0;
        for (int64_t i = 0; i < n; i++) res += scale * a[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++) r[j] = scale * a[j];
        int64_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += scale * a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += scale * a[i];
        return res;
    }
    int64_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum(a, n2, scale) + pairwise_sum(a + n2, n - n2, scale);
}

/* ln_total(values, scale) -> (total, non_finite, first_non_finite): np.sum(scale * values) as NumPy adds it up
 * (0.0 + the pairwise sum), how many of the scaled values are not finite and the index of the first (-1: none). */
static PyObject *ln_total(PyObject *self, PyObject *args) {
    PyObject *values_obj;
    double scale;
    if (!PyArg_ParseTuple(args, "Od", &values_obj, &scale)) return NULL;
    Py_buffer view;
    if (get_buffer(values_obj, &view, 0, 8, "values") < 0) return NULL;
    const double *a = view.buf;
    int64_t n = view.len / 8, bad = 0, first = -1;
    double total;
    Py_BEGIN_ALLOW_THREADS;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(scale * a[i])) {
            if (first < 0) first = i;
            bad++;
        }
    total = 0.0 + pairwise_sum(a, n, scale);
    Py_END_ALLOW_THREADS;
    PyBuffer_Release(&view);
    return Py_BuildValue("(dLL)", total, (long long)bad, (long long)first);
}

/* remainder(x, d) -> x mod d as the scorer finds a home slot (modulo), for tests to compare with %. */
static PyObject *remainder_of(PyObject *self, PyObject *args) {
    unsigned long long x, d;
    if (!PyArg_ParseTuple(args, "KK:remainder", &x, &d)) return NULL;
    if (d == 0) {
        PyErr_SetString(PyExc_ZeroDivisionError, "remainder: d must be at least 1");
        return NULL;
    }
    Divisor v = divisor(d);
    return PyLong_FromUnsignedLongLong(modulo(x, &v));
}

static PyMethodDef methods[] = {
    {"remainder", remainder_of, METH_VARARGS,
     "remainder(x, d) -> x mod d for 64-bit unsigned x and d >= 1, computed as the scorer computes a home slot "
     "(a multiplication by d's precomputed inverse, no division)."},
    {"log10_stream", log10_stream, METH_VARARGS,
     "log10_stream(ids, out, keys, logp, bow, slots, widths, vocab_size, bos, eos, order, missing_context_bow[, fd, "
     "offsets]): writes log10 p of every id into out (widths: the 8-byte fields of each table's slots, 4 or 2); "
     "with fd, the hash tables' slots are read from that file with pread at offsets (one a table), not from slots. "
     "See lmlab/lm/ngram/fast.py."},
    {"ln_total", ln_total, METH_VARARGS,
     "ln_total(values, scale) -> (total, non_finite, first_non_finite): the sum of scale * values as np.sum adds "
     "a float64 array up, the count of scaled values that are not finite and the first one's index (-1: none)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_score", "The compiled n-gram scorer.", -1, methods};

PyMODINIT_FUNC PyInit__score(void) { return PyModule_Create(&module); }
