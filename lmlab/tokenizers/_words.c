/* The word tokenizer's compiled look-up: lines of text to one id stream, each line's words then </s> (the
 * character tokenizer's too: each character a piece).
 *
 * It gives exactly what WordTokenizer's readable path gives (lmlab/tokenizers/word.py: line.split(), then each
 * piece looked up in the vocabulary, <unk> for a piece not in it): a line is cut where str.split() cuts it, at
 * every run of characters for which Py_UNICODE_ISSPACE holds (the ASCII blanks, \x1c-\x1f, U+0085, U+00A0,
 * U+2028 and the other Unicode spaces), and a piece is looked up by its UTF-8 bytes in a hash table of the
 * vocabulary's UTF-8 bytes. Strings holding lone surrogates (which have no UTF-8 form) are encoded with
 * "surrogatepass" on both sides, so they too match only themselves. tests/tokenizers/test_word_compiled.py
 * compares both paths.
 *
 * What it saves is the Python object per word (the split's string, the id's int, the list) and the conversion of a
 * list of ints into an array: about a tenth of the readable path's time.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint32_t hash; /* the top 32 bits of the piece's hash: most mismatches stop here */
    int32_t id;    /* -1: empty */
    uint32_t offset, length; /* the token's UTF-8 bytes in the arena */
} Entry;

typedef struct {
    PyObject_HEAD
    Entry *table;
    uint64_t mask; /* slots - 1, slots a power of two at least twice the vocabulary */
    char *arena;
    Py_ssize_t vocab_size;
    Py_ssize_t duplicates; /* tokens equal to an earlier one (skipped) */
} WordIndex;

static unsigned char ascii_space[128];

/* A hash of a byte string: 8 bytes at a time through a multiply and xor-shift, finished by splitmix64's mixer. */
static inline uint64_t hash_bytes(const unsigned char *s, Py_ssize_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t x;
        memcpy(&x, s, 8);
        h = (h ^ x) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t tail = 0;
    for (Py_ssize_t i = 0; i < n; i++) tail |= (uint64_t)s[i] << (8 * i);
    h ^= tail;
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBULL;
    return h ^ (h >> 31);
}

/* The UTF-8 bytes of a str: its own data when ASCII, the cached UTF-8 form, or (lone surrogates) a new bytes
 * object with "surrogatepass" kept in *owner. Returns NULL with an exception set. */
static const unsigned char *utf8_of(PyObject *s, Py_ssize_t *n, PyObject **owner) {
    *owner = NULL;
    if (PyUnicode_IS_ASCII(s)) {
        *n = PyUnicode_GET_LENGTH(s);
        return PyUnicode_DATA(s);
    }
    const char *u = PyUnicode_AsUTF8AndSize(s, n);
    if (u) return (const unsigned char *)u;
    if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return NULL;
    PyErr_Clear();
    *owner = PyUnicode_AsEncodedString(s, "utf-8", "surrogatepass");
    if (!*owner) return NULL;
    *n = PyBytes_GET_SIZE(*owner);
    return (const unsigned char *)PyBytes_AS_STRING(*owner);
}

/* 0, or the byte length of the whitespace character starting at s[i] (s holds n bytes of well-formed UTF-8, or
 * surrogatepass's 3-byte forms, which are not whitespace). */
static inline int space_at(const unsigned char *s, Py_ssize_t i, Py_ssize_t n) {
    unsigned char c = s[i];
    if (c < 0x80) return ascii_space[c];
    Py_UCS4 cp;
    int width;
    if (c >= 0xF0) return 0; /* 4-byte forms are above U+FFFF: no whitespace there */
    if (c >= 0xE0) {
        if (i + 2 >= n) return 0;
        cp = ((Py_UCS4)(c & 0x0F) << 12) | ((Py_UCS4)(s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
        width = 3;
    } else if (c >= 0xC0) {
        if (i + 1 >= n) return 0;
        cp = ((Py_UCS4)(c & 0x1F) << 6) | (s[i + 1] & 0x3F);
        width = 2;
    } else {
        return 0; /* a continuation byte */
    }
    return Py_UNICODE_ISSPACE(cp) ? width : 0;
}

static inline int32_t find(const WordIndex *ix, const unsigned char *s, Py_ssize_t n) {
    uint64_t h = hash_bytes(s, n);
    uint32_t top = (uint32_t)(h >> 32);
    for (uint64_t at = h & ix->mask;; at = (at + 1) & ix->mask) {
        const Entry *e = &ix->table[at];
        if (e->id < 0) return -1;
        if (e->hash == top && e->length == (uint64_t)n && memcmp(ix->arena + e->offset, s, (size_t)n) == 0)
            return e->id;
    }
}

static void WordIndex_dealloc(WordIndex *self) {
    PyMem_Free(self->table);
    PyMem_Free(self->arena);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int WordIndex_init(WordIndex *self, PyObject *args, PyObject *kwds) {
    PyObject *tokens_obj;
    static char *kwlist[] = {"tokens", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:WordIndex", kwlist, &tokens_obj)) return -1;
    PyObject *tokens = PySequence_Fast(tokens_obj, "WordIndex: tokens must be a sequence of str");
    if (!tokens) return -1;
    Py_ssize_t V = PySequence_Fast_GET_SIZE(tokens);
    PyObject **items = PySequence_Fast_ITEMS(tokens);
    uint64_t slots = 2;
    while (slots < 2 * (uint64_t)V) slots <<= 1;
    size_t arena_bytes = 0;
    for (Py_ssize_t i = 0; i < V; i++) {
        if (!PyUnicode_Check(items[i])) {
            PyErr_Format(PyExc_TypeError, "WordIndex: token %zd is %.80s, not str", i, Py_TYPE(items[i])->tp_name);
            goto fail;
        }
    }
    PyMem_Free(self->table);
    PyMem_Free(self->arena);
    self->arena = NULL;
    self->table = PyMem_Malloc(slots * sizeof(Entry));
    if (!self->table) {
        PyErr_NoMemory();
        goto fail;
    }
    for (uint64_t i = 0; i < slots; i++) self->table[i].id = -1;
    self->mask = slots - 1;
    size_t capacity = 0;
    self->duplicates = 0;
    for (Py_ssize_t i = 0; i < V; i++) {
        Py_ssize_t n;
        PyObject *owner;
        const unsigned char *s = utf8_of(items[i], &n, &owner);
        if (!s) goto fail;
        if (arena_bytes + (size_t)n > UINT32_MAX || V > INT32_MAX) {
            Py_XDECREF(owner);
            PyErr_SetString(PyExc_ValueError, "WordIndex: the vocabulary holds more than 4 GiB of text");
            goto fail;
        }
        if (arena_bytes + (size_t)n > capacity) {
            capacity = 2 * (arena_bytes + (size_t)n) + 64;
            char *grown = PyMem_Realloc(self->arena, capacity);
            if (!grown) {
                Py_XDECREF(owner);
                PyErr_NoMemory();
                goto fail;
            }
            self->arena = grown;
        }
        memcpy(self->arena + arena_bytes, s, (size_t)n);
        uint64_t h = hash_bytes(s, n);
        uint64_t at = h & self->mask;
        /* the first of equal tokens wins, as in a dict built in order (VocabTokenizer refuses duplicates: it reads
         * their count) */
        int duplicate = 0;
        for (; self->table[at].id >= 0; at = (at + 1) & self->mask) {
            const Entry *e = &self->table[at];
            if (e->length == (uint64_t)n && memcmp(self->arena + e->offset, s, (size_t)n) == 0) {
                duplicate = 1;
                break;
            }
        }
        Py_XDECREF(owner);
        if (duplicate) {
            self->duplicates++;
            continue;
        }
        self->table[at] = (Entry){(uint32_t)(h >> 32), (int32_t)i, (uint32_t)arena_bytes, (uint32_t)n};
        arena_bytes += (size_t)n;
    }
    self->vocab_size = V;
    Py_DECREF(tokens);
    return 0;
fail:
    PyMem_Free(self->table); /* encode_lines refuses an index whose construction failed */
    self->table = NULL;
    Py_DECREF(tokens);
    return -1;
}

/* The byte length of the UTF-8 character starting with byte c (surrogatepass's forms are 3 bytes, as others). */
static inline int char_width(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

/* encode_lines(lines, eos_id, unk_id, chars=False) -> (bytearray of int32 ids, number of pieces not in the
 * vocabulary). The pieces are the line's words, or with chars its characters (CharTokenizer: a newline inside a
 * line is </s>, as its readable path has it). */
static PyObject *WordIndex_encode_lines(WordIndex *self, PyObject *args) {
    PyObject *lines_obj;
    int eos_id, unk_id, chars = 0;
    if (!PyArg_ParseTuple(args, "Oii|p:encode_lines", &lines_obj, &eos_id, &unk_id, &chars)) return NULL;
    if (!self->table) {
        PyErr_SetString(PyExc_ValueError, "WordIndex was not initialised");
        return NULL;
    }
    PyObject *lines = PySequence_Fast(lines_obj, "encode_lines: lines must be a sequence of str");
    if (!lines) return NULL;
    Py_ssize_t n_lines = PySequence_Fast_GET_SIZE(lines);
    PyObject **items = PySequence_Fast_ITEMS(lines);
    Py_ssize_t capacity = n_lines + 1024, count = 0, n_oov = 0;
    PyObject *out = PyByteArray_FromStringAndSize(NULL, capacity * 4);
    if (!out) goto fail;
    int32_t *ids = (int32_t *)PyByteArray_AS_STRING(out);
    for (Py_ssize_t li = 0; li < n_lines; li++) {
        PyObject *line = items[li];
        if (!PyUnicode_Check(line)) {
            PyErr_Format(PyExc_TypeError, "encode_lines: line %zd is %.80s, not str", li, Py_TYPE(line)->tp_name);
            goto fail;
        }
        Py_ssize_t n;
        PyObject *owner;
        const unsigned char *s = utf8_of(line, &n, &owner);
        if (!s) goto fail;
        /* at most n / 2 + 1 words (or n characters), then </s> */
        Py_ssize_t most = chars ? n + 1 : n / 2 + 2;
        if (count + most > capacity) {
            capacity = 2 * (count + most);
            if (PyByteArray_Resize(out, capacity * 4) < 0) {
                Py_XDECREF(owner);
                goto fail;
            }
            ids = (int32_t *)PyByteArray_AS_STRING(out);
        }
        Py_ssize_t i = 0;
        while (chars && i < n) {
            int w = char_width(s[i]);
            if (w > n - i) w = (int)(n - i); /* (well-formed text never ends inside a character) */
            int32_t id = s[i] == '\n' ? eos_id : find(self, s + i, w);
            if (id < 0) {
                id = unk_id;
                n_oov++;
            }
            ids[count++] = id;
            i += w;
        }
        for (; !chars;) {
            int w;
            while (i < n && (w = space_at(s, i, n)) != 0) i += w;
            if (i >= n) break;
            Py_ssize_t start = i;
            while (i < n && space_at(s, i, n) == 0) i++;
            int32_t id = find(self, s + start, i - start);
            if (id < 0) {
                id = unk_id;
                n_oov++;
            }
            ids[count++] = id;
        }
        ids[count++] = eos_id;
        Py_XDECREF(owner);
    }
    Py_DECREF(lines);
    if (PyByteArray_Resize(out, count * 4) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    PyObject *result = Py_BuildValue("(Nn)", out, n_oov);
    return result;
fail:
    Py_XDECREF(out);
    Py_DECREF(lines);
    return NULL;
}

static PyMethodDef WordIndex_methods[] = {
    {"encode_lines", (PyCFunction)WordIndex_encode_lines, METH_VARARGS,
     "encode_lines(lines, eos_id, unk_id, chars=False) -> (bytearray of int32 ids, n_oov): each line's words (or "
     "characters), then eos_id; a piece not in the vocabulary is unk_id and counted."},
    {NULL, NULL, 0, NULL}};

static PyMemberDef WordIndex_members[] = {
    {"duplicates", T_PYSSIZET, offsetof(WordIndex, duplicates), READONLY,
     "how many tokens equal an earlier one (each looked up as the first)"},
    {NULL, 0, 0, 0, NULL}};

static PyTypeObject WordIndexType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lmlab.tokenizers._words.WordIndex",
    .tp_doc = "WordIndex(tokens): a hash table of a word vocabulary (token i has id i).",
    .tp_basicsize = sizeof(WordIndex),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)WordIndex_init,
    .tp_dealloc = (destructor)WordIndex_dealloc,
    .tp_methods = WordIndex_methods,
    .tp_members = WordIndex_members,
};

/* count_words(lines) -> {word: count}: the words of the lines (cut as str.split() cuts them, as encode_lines does)
 * and how often each occurs: what collections.Counter counts over each line's split(), without a str object per
 * word (a table of the words' UTF-8 bytes, as WordIndex's; a str made for each distinct word at the end). */
typedef struct {
    uint64_t hash;
    uint32_t offset, length; /* the word's bytes in the arena */
    int64_t count;           /* 0: empty */
} Counted;

static PyObject *count_words(PyObject *self, PyObject *args) {
    PyObject *lines_obj;
    if (!PyArg_ParseTuple(args, "O:count_words", &lines_obj)) return NULL;
    PyObject *lines = PySequence_Fast(lines_obj, "count_words: lines must be a sequence of str");
    if (!lines) return NULL;
    Py_ssize_t n_lines = PySequence_Fast_GET_SIZE(lines);
    PyObject **items = PySequence_Fast_ITEMS(lines);
    uint64_t slots = 1024, used = 0;
    size_t arena_bytes = 0, capacity = 4096;
    Counted *table = PyMem_Calloc(slots, sizeof(Counted));
    char *arena = PyMem_Malloc(capacity);
    PyObject *out = NULL;
    if (!table || !arena) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t li = 0; li < n_lines; li++) {
        PyObject *line = items[li];
        if (!PyUnicode_Check(line)) {
            PyErr_Format(PyExc_TypeError, "count_words: line %zd is %.80s, not str", li, Py_TYPE(line)->tp_name);
            goto done;
        }
        Py_ssize_t n, i = 0;
        PyObject *owner;
        const unsigned char *s = utf8_of(line, &n, &owner);
        if (!s) goto done;
        for (;;) {
            int w;
            while (i < n && (w = space_at(s, i, n)) != 0) i += w;
            if (i >= n) break;
            Py_ssize_t start = i;
            while (i < n && space_at(s, i, n) == 0) i++;
            Py_ssize_t len = i - start;
            uint64_t h = hash_bytes(s + start, len), at = h & (slots - 1);
            Counted *e;
            for (;; at = (at + 1) & (slots - 1)) {
                e = &table[at];
                if (!e->count || (e->hash == h && e->length == (uint64_t)len &&
                                  memcmp(arena + e->offset, s + start, (size_t)len) == 0))
                    break;
            }
            if (e->count) {
                e->count++;
                continue;
            }
            if (arena_bytes + (size_t)len > UINT32_MAX) {
                Py_XDECREF(owner);
                PyErr_SetString(PyExc_ValueError, "count_words: more than 4 GiB of distinct words");
                goto done;
            }
            if (arena_bytes + (size_t)len > capacity) {
                capacity = 2 * (arena_bytes + (size_t)len);
                char *grown = PyMem_Realloc(arena, capacity);
                if (!grown) {
                    Py_XDECREF(owner);
                    PyErr_NoMemory();
                    goto done;
                }
                arena = grown;
            }
            memcpy(arena + arena_bytes, s + start, (size_t)len);
            *e = (Counted){h, (uint32_t)arena_bytes, (uint32_t)len, 1};
            arena_bytes += (size_t)len;
            if (2 * ++used > slots) { /* at most half full: twice the slots, every word placed again */
                Counted *grown = PyMem_Calloc(2 * slots, sizeof(Counted));
                if (!grown) {
                    Py_XDECREF(owner);
                    PyErr_NoMemory();
                    goto done;
                }
                for (uint64_t j = 0; j < slots; j++) {
                    if (!table[j].count) continue;
                    uint64_t to = table[j].hash & (2 * slots - 1);
                    while (grown[to].count) to = (to + 1) & (2 * slots - 1);
                    grown[to] = table[j];
                }
                PyMem_Free(table);
                table = grown;
                slots *= 2;
            }
        }
        Py_XDECREF(owner);
    }
    out = PyDict_New();
    for (uint64_t j = 0; out && j < slots; j++) {
        if (!table[j].count) continue;
        PyObject *word = PyUnicode_DecodeUTF8(arena + table[j].offset, table[j].length, "surrogatepass");
        PyObject *count = word ? PyLong_FromLongLong(table[j].count) : NULL;
        if (!count || PyDict_SetItem(out, word, count) < 0) Py_CLEAR(out);
        Py_XDECREF(word);
        Py_XDECREF(count);
    }
done:
    PyMem_Free(table);
    PyMem_Free(arena);
    Py_DECREF(lines);
    return out;
}

static PyMethodDef module_methods[] = {
    {"count_words", count_words, METH_VARARGS,
     "count_words(lines) -> {word: count}: the lines' words, cut as str.split() cuts them, and their counts."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_words", "The word tokenizer's compiled look-up.", -1,
                                    module_methods};

PyMODINIT_FUNC PyInit__words(void) {
    for (int c = 0; c < 128; c++) ascii_space[c] = Py_UNICODE_ISSPACE(c) ? 1 : 0;
    if (PyType_Ready(&WordIndexType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&WordIndexType);
    if (PyModule_AddObject(m, "WordIndex", (PyObject *)&WordIndexType) < 0) {
        Py_DECREF(&WordIndexType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
