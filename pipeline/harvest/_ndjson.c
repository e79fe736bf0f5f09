/* The harvest's seven submission fields from a block of NDJSON lines, straight into Arrow buffers.
 *
 * msgspec decodes a Pushshift line into a RawSubmission, skipping its ~50 unused fields,
 * and the harvest then turns the structs into Arrow columns; for a dump of a billion
 * lines that is most of the stage's CPU. This scanner does both in one pass over the
 * bytes: it validates every line as JSON (all of it, the skipped fields included) and
 * copies the values of id, url, subreddit, score, created_utc, is_self and over_18 into
 * Arrow validity bitmaps, offsets and data buffers.
 *
 * It is a fast path, not a second decoder: whatever it is not sure msgspec reads the
 * same way (a malformed or blank line, a field of another type, a float or text
 * created_utc, an integer beyond 64 bits, an escaped key, a repeated field, a lone
 * surrogate, invalid UTF-8 in a field it reads, deep nesting) makes it decline the whole block, which then
 * goes through msgspec as before. What it accepts, msgspec accepts with the same values:
 * tests/pipeline/harvest/test_native.py checks this on real-shaped and mutated lines.
 *
 * A block may come as the pieces the decompressor wrote: they are scanned where they are,
 * and only a line cut between two pieces is copied, instead of joining the pieces first.
 * The module also computes the harvest's URL-hash buckets (zlib's CRC-32) for a whole
 * Arrow string column.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define MAX_DEPTH 32

/* The bytes of one string column: Arrow's data buffer. */
typedef struct {
    char *data;
    size_t length, capacity;
} StringColumn;

/* The fields, in the order the result gives them: three strings, two integers, two booleans. */
enum { F_ID, F_URL, F_SUBREDDIT, F_SCORE, F_CREATED, F_IS_SELF, F_OVER_18, N_FIELDS, F_NONE = N_FIELDS };
#define N_STRINGS 3
#define N_INTS 2
#define N_BOOLS 2

typedef struct {
    Py_ssize_t capacity;            /* rows the arrays below hold */
    uint8_t *validity[N_FIELDS];    /* Arrow validity bitmaps: bit set = not null */
    int32_t *offsets[N_STRINGS];    /* Arrow string offsets, capacity + 1 of them */
    StringColumn text[N_STRINGS];
    int64_t *ints[N_INTS];
    uint8_t *bools[N_BOOLS];        /* Arrow boolean values, bit-packed */
} Columns;

static inline void set_bit(uint8_t *bits, Py_ssize_t row) { bits[row >> 3] |= (uint8_t)(1u << (row & 7)); }

static inline const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
    return p;
}

/* Buffers come from PyMem_Raw*: the scan runs without the GIL, and the other allocators need it. */
static int reserve(StringColumn *column, size_t extra) {
    if (column->length + extra <= column->capacity) return 0;
    size_t capacity = column->capacity ? column->capacity : 4096;
    while (capacity < column->length + extra) capacity *= 2;
    if (capacity > INT32_MAX) return -1; /* Arrow's string offsets are 32-bit */
    char *data = PyMem_RawRealloc(column->data, capacity);
    if (data == NULL) return -1;
    column->data = data;
    column->capacity = capacity;
    return 0;
}

static inline int append(StringColumn *column, const char *bytes, size_t size) {
    if (reserve(column, size) < 0) return -1;
    memcpy(column->data + column->length, bytes, size);
    column->length += size;
    return 0;
}

static int hex4(const char *p, uint32_t *out) {
    uint32_t value = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        value <<= 4;
        if (c >= '0' && c <= '9') value |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') value |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') value |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    *out = value;
    return 0;
}

/* Length of the valid UTF-8 sequence at p (2-4 bytes, no overlongs, surrogates or code points past U+10FFFF),
 * or 0. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end) {
    unsigned char c = p[0];
    if (c >= 0xC2 && c <= 0xDF) return (end - p >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0;  /* overlong */
        if (c == 0xED && p[1] >= 0xA0) return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0; /* overlong */
        if (c == 0xF4 && p[1] >= 0x90) return 0; /* past U+10FFFF */
        return 4;
    }
    return 0;
}

static size_t encode_utf8(uint32_t code, char *out) {
    if (code < 0x80) {
        out[0] = (char)code;
        return 1;
    }
    if (code < 0x800) {
        out[0] = (char)(0xC0 | (code >> 6));
        out[1] = (char)(0x80 | (code & 0x3F));
        return 2;
    }
    if (code < 0x10000) {
        out[0] = (char)(0xE0 | (code >> 12));
        out[1] = (char)(0x80 | ((code >> 6) & 0x3F));
        out[2] = (char)(0x80 | (code & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (code >> 18));
    out[1] = (char)(0x80 | ((code >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((code >> 6) & 0x3F));
    out[3] = (char)(0x80 | (code & 0x3F));
    return 4;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* The first byte at or after p that needs a look inside a string (or end): '"', '\\', a control character, and
 * with ``utf8`` a non-ASCII byte, whose sequence is then checked. msgspec checks UTF-8 only in the strings it
 * decodes, so the skipped ones pass without. 16 bytes at a time with SSE2 (every x86-64), 8 elsewhere. */
static inline const char *skip_plain(const char *p, const char *end, int utf8) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), control = _mm_set1_epi8(0x1F);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        __m128i special = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
            _mm_cmpeq_epi8(_mm_min_epu8(v, control), v) /* unsigned: 0x1F and below */
        );
        unsigned mask = (unsigned)_mm_movemask_epi8(special);
        if (utf8) mask |= (unsigned)_mm_movemask_epi8(v); /* the high bit: 0x80 and up */
        if (mask) return p + __builtin_ctz(mask);
        p += 16;
    }
#else
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        uint64_t quote = v ^ (ONES * '"'), backslash = v ^ (ONES * '\\');
        uint64_t special = ((v - ONES * 0x20) & ~v) | ((quote - ONES) & ~quote) | ((backslash - ONES) & ~backslash);
        if ((special | (utf8 ? v : 0)) & HIGHS) break;
        p += 8;
    }
#endif
    for (; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == '"' || c == '\\' || (utf8 && c >= 0x80)) break;
    }
    return p;
}

/* The JSON string whose opening quote is at p; its decoded UTF-8 is appended to out unless out is NULL.
 * Returns the byte after the closing quote, or NULL to decline; *escaped says whether it held escapes. */
static const char *string_value(const char *p, const char *end, StringColumn *out, int *escaped) {
    const char *run = ++p;
    *escaped = 0;
    for (;;) {
        p = skip_plain(p, end, out != NULL);
        if (p >= end) return NULL;
        unsigned char c = (unsigned char)*p;
        if (c == '"') break;
        if (c < 0x20) return NULL;
        if (c >= 0x80) { /* only in a string it decodes */
            size_t size = utf8_sequence((const unsigned char *)p, (const unsigned char *)end);
            if (size == 0) return NULL;
            p += size;
            continue;
        }
        if (c != '\\') {
            p++;
            continue;
        }
        *escaped = 1;
        if (out != NULL && append(out, run, (size_t)(p - run)) < 0) return NULL;
        if (end - p < 2) return NULL;
        char decoded[4];
        size_t size = 1;
        switch (p[1]) {
        case '"': decoded[0] = '"'; break;
        case '\\': decoded[0] = '\\'; break;
        case '/': decoded[0] = '/'; break;
        case 'b': decoded[0] = '\b'; break;
        case 'f': decoded[0] = '\f'; break;
        case 'n': decoded[0] = '\n'; break;
        case 'r': decoded[0] = '\r'; break;
        case 't': decoded[0] = '\t'; break;
        case 'u': {
            uint32_t code, low;
            if (end - p < 6 || hex4(p + 2, &code) < 0) return NULL;
            if (code >= 0xDC00 && code <= 0xDFFF) return NULL; /* a lone low surrogate */
            if (code >= 0xD800 && code <= 0xDBFF) {
                if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &low) < 0) return NULL;
                if (low < 0xDC00 || low > 0xDFFF) return NULL;
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                p += 6;
            }
            size = encode_utf8(code, decoded);
            p += 4;
            break;
        }
        default: return NULL;
        }
        p += 2;
        run = p;
        if (out != NULL && append(out, decoded, size) < 0) return NULL;
    }
    if (out != NULL && append(out, run, (size_t)(p - run)) < 0) return NULL;
    return p + 1;
}

/* A JSON number as the grammar allows it; *integer: it has no fraction or exponent. NULL to decline. */
static const char *number_value(const char *p, const char *end, int *integer) {
    if (p < end && *p == '-') p++;
    if (p >= end) return NULL;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (p < end && *p >= '0' && *p <= '9') p++;
    else return NULL;
    *integer = 1;
    if (p < end && *p == '.') {
        *integer = 0;
        const char *digits = ++p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == digits) return NULL;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        *integer = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        const char *digits = p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == digits) return NULL;
    }
    return p;
}

static inline const char *literal(const char *p, const char *end, const char *word, size_t size) {
    return ((size_t)(end - p) >= size && memcmp(p, word, size) == 0) ? p + size : NULL;
}

static const char *skip_value(const char *p, const char *end, int depth);

static const char *skip_container(const char *p, const char *end, int depth, char close) {
    if (depth > MAX_DEPTH) return NULL;
    int escaped;
    p = skip_ws(p + 1, end);
    if (p < end && *p == close) return p + 1;
    for (;;) {
        if (close == '}') {
            if (p >= end || *p != '"' || (p = string_value(p, end, NULL, &escaped)) == NULL) return NULL;
            p = skip_ws(p, end);
            if (p >= end || *p != ':') return NULL;
            p = skip_ws(p + 1, end);
        }
        if ((p = skip_value(p, end, depth + 1)) == NULL) return NULL;
        p = skip_ws(p, end);
        if (p >= end) return NULL;
        if (*p == close) return p + 1;
        if (*p != ',') return NULL;
        p = skip_ws(p + 1, end);
    }
}

static const char *skip_value(const char *p, const char *end, int depth) {
    int flag;
    if (p >= end) return NULL;
    switch (*p) {
    case '"': return string_value(p, end, NULL, &flag);
    case '{': return skip_container(p, end, depth, '}');
    case '[': return skip_container(p, end, depth, ']');
    case 't': return literal(p, end, "true", 4);
    case 'f': return literal(p, end, "false", 5);
    case 'n': return literal(p, end, "null", 4);
    default: return number_value(p, end, &flag);
    }
}

static int field_of(const char *key, size_t size) {
    switch (size) {
    case 2: return memcmp(key, "id", 2) == 0 ? F_ID : F_NONE;
    case 3: return memcmp(key, "url", 3) == 0 ? F_URL : F_NONE;
    case 5: return memcmp(key, "score", 5) == 0 ? F_SCORE : F_NONE;
    case 7:
        if (memcmp(key, "is_self", 7) == 0) return F_IS_SELF;
        return memcmp(key, "over_18", 7) == 0 ? F_OVER_18 : F_NONE;
    case 9: return memcmp(key, "subreddit", 9) == 0 ? F_SUBREDDIT : F_NONE;
    case 11: return memcmp(key, "created_utc", 11) == 0 ? F_CREATED : F_NONE;
    default: return F_NONE;
    }
}

static const char *int_value(const char *p, const char *end, int64_t *value) {
    const char *start = p;
    int integer;
    if ((p = number_value(p, end, &integer)) == NULL || !integer) return NULL;
    int negative = *start == '-';
    uint64_t magnitude = 0;
    for (const char *digit = start + negative; digit < p; digit++) {
        if (magnitude > (UINT64_MAX - 9) / 10) return NULL;
        magnitude = magnitude * 10 + (uint64_t)(*digit - '0');
    }
    if (magnitude > (uint64_t)INT64_MAX + negative) return NULL; /* beyond 64 bits: msgspec's path decides */
    *value = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
    return p;
}

/* The value of a field the harvest reads, into row ``row``; NULL to decline. */
static const char *field_value(const char *p, const char *end, int field, Columns *columns, Py_ssize_t row) {
    if (*p == 'n') return literal(p, end, "null", 4); /* every field may be null: its validity bit stays 0 */
    if (field < F_SCORE) {
        int escaped;
        if (*p != '"') return NULL;
        p = string_value(p, end, &columns->text[field], &escaped);
    } else if (field < F_IS_SELF) {
        p = int_value(p, end, &columns->ints[field - F_SCORE][row]);
    } else {
        const char *after = literal(p, end, "true", 4);
        if (after != NULL) set_bit(columns->bools[field - F_IS_SELF], row);
        else after = literal(p, end, "false", 5);
        p = after;
    }
    if (p != NULL) set_bit(columns->validity[field], row);
    return p;
}

/* The line at p into row ``row``: the position after its newline (or the block's end), or NULL to decline. */
static const char *scan_line(const char *p, const char *end, Columns *columns, Py_ssize_t row) {
    unsigned seen = 0;
    int escaped;
    p = skip_ws(p, end);
    if (p >= end || *p != '{') return NULL;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') {
        p++;
    } else {
        for (;;) {
            if (p >= end || *p != '"') return NULL;
            const char *key = p + 1;
            if ((p = string_value(p, end, NULL, &escaped)) == NULL || escaped) return NULL;
            int field = field_of(key, (size_t)(p - 1 - key));
            p = skip_ws(p, end);
            if (p >= end || *p != ':') return NULL;
            p = skip_ws(p + 1, end);
            if (p >= end) return NULL;
            if (field == F_NONE) {
                p = skip_value(p, end, 1);
            } else {
                if (seen & (1u << field)) return NULL; /* a repeated field */
                seen |= 1u << field;
                p = field_value(p, end, field, columns, row);
            }
            if (p == NULL) return NULL;
            p = skip_ws(p, end);
            if (p >= end) return NULL;
            if (*p == '}') {
                p++;
                break;
            }
            if (*p != ',') return NULL;
            p = skip_ws(p + 1, end);
        }
    }
    for (int i = 0; i < N_STRINGS; i++) columns->offsets[i][row + 1] = (int32_t)columns->text[i].length;
    p = skip_ws(p, end); /* the rest of the line: whitespace only (a raw newline cannot occur inside a string) */
    if (p == end) return p;
    return *p == '\n' ? p + 1 : NULL;
}

static size_t bitmap_bytes(Py_ssize_t rows) { return (size_t)(rows + 7) / 8; }

/* Room for ``rows`` rows, new bits and values zeroed; -1 when out of memory. */
static int grow(Columns *columns, Py_ssize_t rows) {
    if (rows <= columns->capacity) return 0;
    Py_ssize_t capacity = columns->capacity ? columns->capacity : 1024;
    while (capacity < rows) capacity *= 2;
    size_t old_bits = bitmap_bytes(columns->capacity), bits = bitmap_bytes(capacity);
    uint8_t **bitmaps[N_FIELDS + N_BOOLS];
    for (int i = 0; i < N_FIELDS; i++) bitmaps[i] = &columns->validity[i];
    for (int i = 0; i < N_BOOLS; i++) bitmaps[N_FIELDS + i] = &columns->bools[i];
    for (int i = 0; i < N_FIELDS + N_BOOLS; i++) {
        uint8_t *bitmap = PyMem_RawRealloc(*bitmaps[i], bits);
        if (bitmap == NULL) return -1;
        memset(bitmap + old_bits, 0, bits - old_bits);
        *bitmaps[i] = bitmap;
    }
    for (int i = 0; i < N_STRINGS; i++) {
        int32_t *offsets = PyMem_RawRealloc(columns->offsets[i], ((size_t)capacity + 1) * sizeof(int32_t));
        if (offsets == NULL) return -1;
        if (columns->capacity == 0) offsets[0] = 0;
        columns->offsets[i] = offsets;
    }
    for (int i = 0; i < N_INTS; i++) {
        int64_t *values = PyMem_RawRealloc(columns->ints[i], (size_t)capacity * sizeof(int64_t));
        if (values == NULL) return -1;
        memset(values + columns->capacity, 0, (size_t)(capacity - columns->capacity) * sizeof(int64_t));
        columns->ints[i] = values;
    }
    columns->capacity = capacity;
    return 0;
}

static void free_columns(Columns *columns) {
    for (int i = 0; i < N_FIELDS; i++) PyMem_RawFree(columns->validity[i]);
    for (int i = 0; i < N_STRINGS; i++) {
        PyMem_RawFree(columns->offsets[i]);
        PyMem_RawFree(columns->text[i].data);
    }
    for (int i = 0; i < N_INTS; i++) PyMem_RawFree(columns->ints[i]);
    for (int i = 0; i < N_BOOLS; i++) PyMem_RawFree(columns->bools[i]);
}

/* The lines of [p, end) into ``columns`` from row ``*row`` on; -1 to decline, -2 when out of memory. */
static int scan_lines(const char *p, const char *end, Columns *columns, Py_ssize_t *row) {
    while (p < end) {
        if (grow(columns, *row + 1) < 0) return -2;
        if ((p = scan_line(p, end, columns, *row)) == NULL) return -1;
        ++*row;
    }
    return 0;
}

/* Rows scanned into ``columns`` from the block that is the concatenation of ``parts``: each part's whole lines
 * in place, a line split between parts from a copy of it. Every line is scanned from the same bytes as in the
 * joined block, so the result is the same. -1 to decline the block, -2 when out of memory. */
static Py_ssize_t scan_parts(const Py_buffer *parts, Py_ssize_t n_parts, Columns *columns) {
    Py_ssize_t row = 0, size = 0;
    StringColumn split = {NULL, 0, 0}; /* a line begun in one part and ended in a later one, copied whole */
    int status = 0;
    for (Py_ssize_t i = 0; i < n_parts; i++) size += parts[i].len;
    if (size == 0) return -1;
    for (Py_ssize_t i = 0; i < n_parts && status == 0; i++) {
        const char *p = parts[i].buf, *end = p + parts[i].len;
        int last = i == n_parts - 1;
        if (split.length) { /* the line an earlier part began */
            const char *newline = memchr(p, '\n', (size_t)(end - p));
            const char *stop = newline ? newline + 1 : end;
            if (append(&split, p, (size_t)(stop - p)) < 0) {
                status = -2;
                break;
            }
            p = stop;
            if (newline == NULL && !last) continue;
            status = scan_lines(split.data, split.data + split.length, columns, &row);
            split.length = 0;
        }
        const char *whole = end; /* in all but the last part, the lines end at its last newline */
        if (!last) {
            while (whole > p && whole[-1] != '\n') whole--;
        }
        if (status == 0) status = scan_lines(p, whole, columns, &row);
        if (status == 0 && whole < end && append(&split, whole, (size_t)(end - whole)) < 0) status = -2;
    }
    PyMem_RawFree(split.data);
    return status < 0 ? status : row;
}

static PyObject *bytes_of(const void *data, size_t size) {
    return PyBytes_FromStringAndSize(size ? data : "", (Py_ssize_t)size);
}

/* (rows, then per field its Arrow buffers: validity, offsets and data for strings, values otherwise). */
static PyObject *result_of(Columns *columns, Py_ssize_t rows) {
    PyObject *result = PyTuple_New(1 + N_FIELDS);
    if (result == NULL) return NULL;
    PyObject *count = PyLong_FromSsize_t(rows);
    if (count == NULL) {
        Py_DECREF(result);
        return NULL;
    }
    PyTuple_SET_ITEM(result, 0, count);
    size_t bits = bitmap_bytes(rows);
    for (int field = 0; field < N_FIELDS; field++) {
        PyObject *buffers;
        if (field < F_SCORE) {
            StringColumn *text = &columns->text[field];
            buffers = Py_BuildValue(
                "(NNN)", bytes_of(columns->validity[field], bits),
                bytes_of(columns->offsets[field], ((size_t)rows + 1) * sizeof(int32_t)),
                bytes_of(text->data, text->length)
            );
        } else if (field < F_IS_SELF) {
            buffers = Py_BuildValue(
                "(NN)", bytes_of(columns->validity[field], bits),
                bytes_of(columns->ints[field - F_SCORE], (size_t)rows * sizeof(int64_t))
            );
        } else {
            buffers = Py_BuildValue(
                "(NN)", bytes_of(columns->validity[field], bits), bytes_of(columns->bools[field - F_IS_SELF], bits)
            );
        }
        if (buffers == NULL) {
            Py_DECREF(result);
            return NULL;
        }
        PyTuple_SET_ITEM(result, 1 + field, buffers);
    }
    return result;
}

/* One bytes-like block, or a tuple of bytes-like parts whose concatenation is the block. */
static PyObject *submission_columns(PyObject *module, PyObject *arg) {
    int one = !PyTuple_Check(arg);
    Py_ssize_t n_parts = one ? 1 : PyTuple_GET_SIZE(arg), held = 0;
    Py_buffer *parts = PyMem_Calloc((size_t)(n_parts ? n_parts : 1), sizeof(Py_buffer));
    if (parts == NULL) return PyErr_NoMemory();
    PyObject *result = NULL;
    for (; held < n_parts; held++) {
        if (PyObject_GetBuffer(one ? arg : PyTuple_GET_ITEM(arg, held), &parts[held], PyBUF_SIMPLE) < 0) goto done;
    }
    Columns columns;
    memset(&columns, 0, sizeof columns);
    Py_ssize_t rows;
    Py_BEGIN_ALLOW_THREADS
    rows = scan_parts(parts, n_parts, &columns);
    Py_END_ALLOW_THREADS
    result = rows == -2 ? PyErr_NoMemory() : rows < 0 ? Py_NewRef(Py_None) : result_of(&columns, rows);
    free_columns(&columns);
done:
    for (Py_ssize_t i = 0; i < held; i++) PyBuffer_Release(&parts[i]);
    PyMem_Free(parts);
    return result;
}

/* CRC-32 (zlib's, so bucket numbers match zlib.crc32 in every process), eight bytes a step. */
static uint32_t crc_table[8][256];

static void init_crc_table(void) {
    for (uint32_t byte = 0; byte < 256; byte++) {
        uint32_t crc = byte;
        for (int bit = 0; bit < 8; bit++) crc = crc & 1 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
        crc_table[0][byte] = crc;
    }
    for (int k = 1; k < 8; k++)
        for (int byte = 0; byte < 256; byte++)
            crc_table[k][byte] = (crc_table[k - 1][byte] >> 8) ^ crc_table[0][crc_table[k - 1][byte] & 0xFF];
}

static inline uint32_t load_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc32_of(const uint8_t *p, size_t size) {
    uint32_t crc = 0xFFFFFFFFu;
    for (; size >= 8; p += 8, size -= 8) {
        uint32_t low = crc ^ load_le32(p), high = load_le32(p + 4);
        crc = crc_table[7][low & 0xFF] ^ crc_table[6][(low >> 8) & 0xFF] ^ crc_table[5][(low >> 16) & 0xFF] ^
              crc_table[4][low >> 24] ^ crc_table[3][high & 0xFF] ^ crc_table[2][(high >> 8) & 0xFF] ^
              crc_table[1][(high >> 16) & 0xFF] ^ crc_table[0][high >> 24];
    }
    while (size--) crc = crc_table[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* Checks the offsets before reading anything, so a bad buffer is an error, never a read out of bounds. */
static PyObject *crc32_buckets(PyObject *module, PyObject *args) {
    Py_buffer offsets, data;
    Py_ssize_t first, rows;
    long buckets;
    if (!PyArg_ParseTuple(args, "y*y*nnl", &offsets, &data, &first, &rows, &buckets)) return NULL;
    PyObject *result = NULL;
    const int32_t *bounds = offsets.buf;
    if (first < 0 || rows < 0 || buckets < 1 || buckets > INT32_MAX ||
        (size_t)offsets.len / sizeof(int32_t) < (size_t)first + (size_t)rows + 1) {
        PyErr_SetString(PyExc_ValueError, "crc32_buckets: offsets, rows or bucket count out of range");
        goto done;
    }
    for (Py_ssize_t row = first; row < first + rows; row++) {
        if (bounds[row] < 0 || bounds[row] > bounds[row + 1] || bounds[row + 1] > data.len) {
            PyErr_Format(PyExc_ValueError, "crc32_buckets: offsets of row %zd outside the data", row - first);
            goto done;
        }
    }
    result = PyBytes_FromStringAndSize(NULL, rows * (Py_ssize_t)sizeof(int32_t));
    if (result == NULL) goto done;
    int32_t *out = (int32_t *)PyBytes_AS_STRING(result);
    const uint8_t *text = data.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t row = 0; row < rows; row++) {
        int32_t start = bounds[first + row], end = bounds[first + row + 1];
        out[row] = (int32_t)(crc32_of(text + start, (size_t)(end - start)) % (uint32_t)buckets);
    }
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef methods[] = {
    {"submission_columns", submission_columns, METH_O,
     "submission_columns(block) -> (rows, id, url, subreddit, score, created_utc, is_self, over_18) or None\n\n"
     "block: a bytes-like object, or a tuple of them that together make the block (a line may span them).\n"
     "Arrow buffers of the harvest's fields of every NDJSON line in block: (validity, offsets, data) for the\n"
     "strings, (validity, values) for the integers and booleans. None: the block needs msgspec's path."},
    {"crc32_buckets", crc32_buckets, METH_VARARGS,
     "crc32_buckets(offsets, data, first, rows, n_buckets) -> bytes\n\n"
     "zlib.crc32 of each of rows strings of an Arrow string array (its int32 offsets and data buffers, from\n"
     "row first) modulo n_buckets, as native int32 values."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, .m_name = "_ndjson", .m_size = 0, .m_methods = methods};

PyMODINIT_FUNC PyInit__ndjson(void) {
    init_crc_table();
    return PyModule_Create(&module);
}
