/* The fast word2vec trainer: one job (a batch of sentences) of skip-gram or CBOW updates, without the GIL.
 *
 * This is the same algorithm, draw for draw, as the readable Python path in lmlab/word2vec/updates.py
 * (train_job_readable); tests/word2vec/test_fast_equals_readable.py checks that both leave the same vectors.
 * The Python side (lmlab/word2vec/fast.py) checks the tables once per training (check_tables); the checks here
 * (sizes, word ids, sentence ends: O(job) per call) keep a wrong job from writing outside the arrays.
 *
 * Random draws come from the C tool's linear congruential generator, state = state * 25214903917 + 11 (mod 2^64),
 * and use the top 32 bits of each new state:
 *   subsampling   (sample > 0, every in-vocabulary word, in order): keep the word if u32 < keep[w]
 *   window        (every kept word, in order):                        b = u32 % window, span = window - b
 *   negatives     (per prediction, each of the `negative` samples):   column k = (u32 * V) >> 32 from one draw,
 *                                                                      then k if u32' < alias_prob[k] else alias[k]
 * Updates are Hogwild (Recht et al. 2011): threads write the shared arrays without locks, as the C tool and
 * gensim do.
 *
 * References: Mikolov et al. 2013a, 2013b; the word2vec C tool (word2vec.c); Walker 1977 and Vose 1991 (alias
 * method).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
/* AVX2 + FMA where the CPU has it (chosen once at load time), SSE2 elsewhere: the dot products and axpys over
 * the dimension are most of the work. */
#define W2V_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define W2V_CLONES
#endif

typedef struct {
    float *syn0;       /* (V, D) input vectors: the word vectors */
    float *syn1neg;    /* (V, D) output vectors of negative sampling, or NULL */
    float *syn1;       /* (V - 1, D) inner-node vectors of hierarchical softmax, or NULL */
    const uint64_t *keep;        /* (V,) subsampling: keep when u32 < keep[w] (2^32 = always) */
    const uint64_t *alias_prob;  /* (V,) alias table of the noise distribution */
    const int32_t *alias_index;  /* (V,) */
    const int64_t *code_offsets; /* (V + 1,) word w's Huffman path is codes/points[code_offsets[w]:...[w + 1]] */
    const uint8_t *codes;
    const int32_t *points;
    int64_t vocab_size;
    int64_t dim;
    int window;
    int negative;
    int hs;
    int cbow;
    int sample;
} Model;

typedef struct {
    double loss;           /* sum of -log p over every binary prediction, float64 (gensim#2735) */
    int64_t predictions;   /* skip-gram: (center, context) pairs; CBOW: centers with a context */
    int64_t kept;          /* words left after subsampling */
} Totals;

static inline uint64_t lcg_next(uint64_t state) { return state * 25214903917ULL + 11ULL; }
static inline uint32_t top32(uint64_t state) { return (uint32_t)(state >> 32); }

static inline float dot(const float *restrict a, const float *restrict b, int64_t n) {
    /* eight partial sums in a fixed order: vectorisable without -ffast-math, and deterministic */
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

static inline void axpy(float alpha, const float *restrict x, float *restrict y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

/* Ask for a row's cache lines now, to be read and written soon: the noise words' rows are scattered over
 * the whole table, and waiting for them was most of skip-gram's time. */
static inline void prefetch_row(const float *row, int64_t dim) {
    for (int64_t b = 0; b < dim; b += 16) __builtin_prefetch(row + b, 1);
}

/* One binary logistic prediction of label t from the input h against the output vector u:
 *   f = sigma(h . u),  g = alpha (t - f),  e += g u,  u += g h,  loss += -log sigma(+-h . u)
 * (the loss before the update). */
static inline void predict(const float *restrict h, float *restrict u, float *restrict e, int label, float alpha,
                           int64_t dim, double *loss) {
    float x = dot(h, u, dim);
    float z = label ? x : -x;            /* -log p = softplus(-z) = log(1 + exp(-z)) */
    float ez = expf(-fabsf(z));
    float f = x >= 0 ? 1.0f / (1.0f + ez) : ez / (1.0f + ez);  /* sigma(x), stable for either sign */
    *loss += (double)(log1pf(ez) + (z < 0 ? -z : 0.0f));
    float g = alpha * ((float)label - f);
    axpy(g, u, e, dim);
    axpy(g, h, u, dim);
}

/* Every output-side prediction for the target word w from the input h: its Huffman path, then the positive
 * and `negative` noise words. The error e (the gradient step for h) is accumulated, not applied. */
static inline void predict_word(const Model *m, const float *restrict h, float *restrict e, int32_t w, float alpha,
                                uint64_t *state, double *loss) {
    int64_t dim = m->dim;
    if (m->hs) {
        for (int64_t c = m->code_offsets[w]; c < m->code_offsets[w + 1]; c++)
            predict(h, m->syn1 + (int64_t)m->points[c] * dim, e, 1 - m->codes[c], alpha, dim, loss);
    }
    if (m->negative) {
        /* the noise words first (the draws do not depend on the vectors), their rows fetched while the
         * positive prediction is computed */
        int32_t targets[m->negative > 0 ? m->negative : 1];
        for (int d = 0; d < m->negative; d++) {
            *state = lcg_next(*state);
            uint32_t k = (uint32_t)(((uint64_t)top32(*state) * (uint64_t)m->vocab_size) >> 32);
            *state = lcg_next(*state);
            targets[d] = (uint64_t)top32(*state) < m->alias_prob[k] ? (int32_t)k : m->alias_index[k];
            prefetch_row(m->syn1neg + (int64_t)targets[d] * dim, dim);
        }
        predict(h, m->syn1neg + (int64_t)w * dim, e, 1, alpha, dim, loss);
        for (int d = 0; d < m->negative; d++) {
            if (targets[d] == w) continue; /* the C tool's rule: the word itself is never its own noise */
            predict(h, m->syn1neg + (int64_t)targets[d] * dim, e, 0, alpha, dim, loss);
        }
    }
}

/* One sentence: ids[0:n] (-1 for out-of-vocabulary words, which are dropped), alphas from alpha0 down by
 * alpha_step per in-vocabulary word (never below min_alpha). */
W2V_CLONES
static void train_sentence(const Model *m, const int32_t *ids, int64_t n, int64_t *seen, double alpha0,
                           double alpha_step, double min_alpha, uint64_t *state, int32_t *kept, float *alphas,
                           float *h, float *e, Totals *t) {
    int64_t dim = m->dim;
    int64_t len = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t w = ids[i];
        if (w < 0) continue;
        double a = alpha0 - alpha_step * (double)(*seen)++;
        float alpha = (float)(a < min_alpha ? min_alpha : a);
        if (m->sample) {
            *state = lcg_next(*state);
            if ((uint64_t)top32(*state) >= m->keep[w]) continue;
        }
        kept[len] = w;
        alphas[len] = alpha;
        len++;
    }
    t->kept += len;
    for (int64_t i = 0; i < len; i++) {
        *state = lcg_next(*state);
        int64_t span = m->window - (int64_t)(top32(*state) % (uint32_t)m->window);
        int64_t lo = i - span < 0 ? 0 : i - span;
        int64_t hi = i + span + 1 > len ? len : i + span + 1;
        int32_t w = kept[i];
        float alpha = alphas[i];
        if (m->cbow) {
            int64_t count = hi - lo - 1;
            if (count <= 0) continue;
            memset(h, 0, (size_t)dim * sizeof(float));
            for (int64_t j = lo; j < hi; j++)
                if (j != i) axpy(1.0f, m->syn0 + (int64_t)kept[j] * dim, h, dim);
            float inv = 1.0f / (float)count;
            for (int64_t d = 0; d < dim; d++) h[d] *= inv;
            memset(e, 0, (size_t)dim * sizeof(float));
            predict_word(m, h, e, w, alpha, state, &t->loss);
            /* the C tool and gensim (cbow_mean=1) add the whole error to every context word */
            for (int64_t j = lo; j < hi; j++)
                if (j != i) axpy(1.0f, e, m->syn0 + (int64_t)kept[j] * dim, dim);
            t->predictions++;
        } else {
            for (int64_t j = lo; j < hi; j++) {
                if (j == i) continue;
                /* as in the C tool: the context word's input vector predicts the center word */
                float *in = m->syn0 + (int64_t)kept[j] * dim;
                memset(e, 0, (size_t)dim * sizeof(float));
                predict_word(m, in, e, w, alpha, state, &t->loss);
                axpy(1.0f, e, in, dim);
                t->predictions++;
            }
        }
    }
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

#define N_BUFFERS 11

static PyObject *train_job(PyObject *self, PyObject *args) {
    PyObject *objs[N_BUFFERS];
    long long dim;
    unsigned long long seed_in;
    int window, negative, hs, cbow, sample;
    double alpha0, alpha_step, min_alpha;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOLiiiiidddK", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5],
                          &objs[6], &objs[7], &objs[8], &objs[9], &objs[10], &dim, &window, &negative, &hs, &cbow,
                          &sample, &alpha0, &alpha_step, &min_alpha, &seed_in))
        return NULL;
    /* syn0, syn1neg, syn1 (written); keep, alias_prob, alias_index, code_offsets, codes, points, ids,
     * sentence_ends (read) */
    static const Py_ssize_t itemsize[N_BUFFERS] = {4, 4, 4, 8, 8, 4, 8, 1, 4, 4, 8};
    static const char *names[N_BUFFERS] = {"syn0",         "syn1neg", "syn1",   "keep", "alias_prob",   "alias_index",
                                           "code_offsets", "codes",   "points", "ids",  "sentence_ends"};
    Py_buffer views[N_BUFFERS];
    int got = 0;
    for (; got < N_BUFFERS; got++)
        if (get_buffer(objs[got], &views[got], got < 3, itemsize[got], names[got]) < 0) goto fail;

    Model m;
    m.dim = dim;
    m.window = window;
    m.negative = negative;
    m.hs = hs;
    m.cbow = cbow;
    m.sample = sample;
    m.vocab_size = views[3].len / 8;
    if (dim < 1 || window < 1 || negative < 0 || (!hs && !negative) || m.vocab_size < 1 ||
        views[0].len != m.vocab_size * dim * 4 || views[4].len / 8 != m.vocab_size ||
        views[5].len / 4 != m.vocab_size || (negative && views[1].len != views[0].len) ||
        (hs && (views[2].len != (m.vocab_size > 1 ? m.vocab_size - 1 : 1) * dim * 4 ||
                views[6].len / 8 != m.vocab_size + 1 || views[7].len != views[8].len / 4))) {
        PyErr_SetString(PyExc_ValueError, "train_job: the arrays do not fit the model's vocabulary and dimension");
        goto fail;
    }
    m.syn0 = views[0].buf;
    m.syn1neg = negative ? views[1].buf : NULL;
    m.syn1 = hs ? views[2].buf : NULL;
    m.keep = views[3].buf;
    m.alias_prob = views[4].buf;
    m.alias_index = views[5].buf;
    m.code_offsets = hs ? views[6].buf : NULL;
    m.codes = hs ? views[7].buf : NULL;
    m.points = hs ? views[8].buf : NULL;
    const int32_t *ids = views[9].buf;
    const int64_t *ends = views[10].buf;
    int64_t n_ids = views[9].len / 4, n_sentences = views[10].len / 8;
    int64_t longest = 0, start = 0;
    for (int64_t s = 0; s < n_sentences; s++) {
        if (ends[s] < start || ends[s] > n_ids) {
            PyErr_SetString(PyExc_ValueError, "train_job: sentence_ends must rise from 0 to len(ids)");
            goto fail;
        }
        if (ends[s] - start > longest) longest = ends[s] - start;
        start = ends[s];
    }
    for (int64_t i = 0; i < n_ids; i++)
        if (ids[i] < -1 || ids[i] >= m.vocab_size) {
            PyErr_Format(PyExc_ValueError, "train_job: word id %d is outside the vocabulary", (int)ids[i]);
            goto fail;
        }
    /* the tables' contents (alias indices, Huffman points) are checked once per training, in Python
     * (fast.check_tables): checking them here would cost O(V) per job */
    int32_t *kept = malloc((size_t)(longest + 1) * sizeof(int32_t));
    float *alphas = malloc((size_t)(longest + 1) * sizeof(float));
    float *h = malloc((size_t)dim * sizeof(float));
    float *e = malloc((size_t)dim * sizeof(float));
    if (!kept || !alphas || !h || !e) {
        free(kept);
        free(alphas);
        free(h);
        free(e);
        PyErr_NoMemory();
        goto fail;
    }
    Totals t = {0.0, 0, 0};
    uint64_t state = (uint64_t)seed_in;
    int64_t seen = 0;
    Py_BEGIN_ALLOW_THREADS;
    start = 0;
    for (int64_t s = 0; s < n_sentences; s++) {
        train_sentence(&m, ids + start, ends[s] - start, &seen, alpha0, alpha_step, min_alpha, &state, kept, alphas,
                       h, e, &t);
        start = ends[s];
    }
    Py_END_ALLOW_THREADS;
    free(kept);
    free(alphas);
    free(h);
    free(e);
    for (int i = 0; i < got; i++) PyBuffer_Release(&views[i]);
    return Py_BuildValue("dLL", t.loss, (long long)t.predictions, (long long)t.kept);

fail:
    for (int i = 0; i < got; i++) PyBuffer_Release(&views[i]);
    return NULL;
}

static PyMethodDef methods[] = {
    {"train_job", train_job, METH_VARARGS,
     "train_job(syn0, syn1neg, syn1, keep, alias_prob, alias_index, code_offsets, codes, points, ids, "
     "sentence_ends, dim, window, negative, hs, cbow, sample, alpha0, alpha_step, min_alpha, seed) -> "
     "(loss, predictions, kept_words). See lmlab/word2vec/fast.py."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fast", "The compiled word2vec trainer.", -1, methods};

PyMODINIT_FUNC PyInit__fast(void) { return PyModule_Create(&module); }
