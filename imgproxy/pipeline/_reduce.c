/* An image's rows shrunk by Lanczos 3: each output pixel a weighted sum of the input pixels
 * within three output pixels of its centre, in 8 bits.
 *
 * The weights: output pixel x has its centre at (x + 0.5) * shrink - 0.5 + offset in the
 * input's pixels, and input pixel j weighs lanczos3((j - centre) / shrink). Taps beyond an edge
 * take the edge pixel (the edge repeated). Each pixel's weights are scaled so that they add up
 * to 1, then rounded to 14 bits, the rounding's remainder going to the heaviest tap, so that a
 * flat image stays flat. Every output pixel has the same number of taps (even, for the pairs
 * below), starting where its first tap starts, moved inside the image at the edges.
 *
 * The sums: 14-bit weights times 8-bit values, added in 32 bits with half a unit to round, then
 * shifted down and clipped to 0-255.
 *
 * Where the processor has AVX2, sixteen rows go together: their pixels are first turned so that
 * each value of a column lies beside the same value of the fifteen rows below it; then each tap
 * is one multiply-add over sixteen rows, two taps at a time, and the sums are turned back into
 * rows. Elsewhere the same sums are made one value at a time; both give the same bytes.
 *
 * The work runs without Python's lock.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

#define WEIGHT_BITS 14
#define ONE (1 << WEIGHT_BITS)
#define LOBES 3.0
#define MAX_SHRINK 64.0
/* The rows that go through the AVX2 path together. */
#define BLOCK 16

typedef struct {
    int taps;         /* even */
    int32_t *start;   /* per output pixel: its first tap */
    int16_t *weights; /* per output pixel: `taps` weights */
} Table;

static double
lanczos3(double d)
{
    if (d == 0.0)
        return 1.0;
    if (fabs(d) >= LOBES)
        return 0.0;
    const double pd = M_PI * d;
    return LOBES * sin(pd) * sin(pd / LOBES) / (pd * pd);
}

/* sin and cos of an angle that grows by a fixed turn at each step: two multiplications a step
 * in place of a call to sin. */
typedef struct {
    double sin, cos;
    double turn_sin, turn_cos;
} Turning;

static Turning
turning(double angle, double turn)
{
    return (Turning) {sin(angle), cos(angle), sin(turn), cos(turn)};
}

static void
turn(Turning *t)
{
    const double sine = t->sin * t->turn_cos + t->cos * t->turn_sin;
    t->cos = t->cos * t->turn_cos - t->sin * t->turn_sin;
    t->sin = sine;
}

/* Closer to the centre than this, the weight is computed directly: the turned sines are only
 * as exact as a few units in the last place of 1. */
#define NEAR_CENTRE 1e-3

/* The taps every output pixel has: all input pixels within LOBES * shrink of its centre. */
static int
taps_for(double shrink)
{
    int taps = (int) ceil(2.0 * LOBES * shrink) + 1;
    return taps + (taps & 1);
}

static void
fill_pixel(Table *table, int x, int width, double shrink, double offset, double *raw)
{
    const int taps = table->taps;
    const double centre = (x + 0.5) * shrink - 0.5 + offset;
    const int first = (int) floor(centre - LOBES * shrink) + 1;
    int start = first < 0 ? 0 : first;
    if (start > width - taps)
        start = width - taps;
    memset(raw, 0, taps * sizeof(double));
    /* Taps one input pixel apart are 1 / shrink apart in d. */
    const double d0 = (first - centre) / shrink;
    Turning whole = turning(M_PI * d0, M_PI / shrink);
    Turning third = turning(M_PI * d0 / LOBES, M_PI / shrink / LOBES);
    double sum = 0.0;
    const double per_pixel = 1.0 / shrink;
    for (int j = first; j < first + taps; j++, turn(&whole), turn(&third)) {
        const double d = (j - centre) * per_pixel;
        double weight = 0.0;
        if (fabs(d) < NEAR_CENTRE)
            weight = lanczos3(d);
        else if (fabs(d) < LOBES)
            weight = LOBES / (M_PI * M_PI) * whole.sin * third.sin / (d * d);
        const int at = j < 0 ? 0 : (j >= width ? width - 1 : j);
        raw[at - start] += weight;
        sum += weight;
    }
    int16_t *weights = table->weights + (size_t) x * taps;
    const double scale = ONE / sum;
    int total = 0, heaviest = 0;
    for (int i = 0; i < taps; i++) {
        weights[i] = (int16_t) floor(raw[i] * scale + 0.5);
        total += weights[i];
        if (weights[i] > weights[heaviest])
            heaviest = i;
    }
    weights[heaviest] += ONE - total;
    table->start[x] = start;
}

static int
fill_table(Table *table, int width, int out_width, double shrink, double offset)
{
    table->taps = taps_for(shrink);
    table->start = malloc((size_t) out_width * sizeof(int32_t));
    table->weights = malloc((size_t) out_width * table->taps * sizeof(int16_t));
    double *raw = malloc(table->taps * sizeof(double));
    if (table->start == NULL || table->weights == NULL || raw == NULL) {
        free(raw);
        return 0;
    }
    for (int x = 0; x < out_width; x++)
        fill_pixel(table, x, width, shrink, offset, raw);
    free(raw);
    return 1;
}

static void
free_table(Table *table)
{
    free(table->start);
    free(table->weights);
}

static inline uint8_t
clipped(int32_t sum)
{
    const int32_t value = sum >> WEIGHT_BITS;
    return (uint8_t) (value < 0 ? 0 : (value > 255 ? 255 : value));
}

/* Where row `r` of `across` images side by side, each `width` x `height` x `bands`, starts:
 * the rows of the first image, then those of the second, and so on. */
static inline const uint8_t *
row_at(const uint8_t *in, int r, int width, int height, int bands, int across)
{
    const int image = r / height, y = r % height;
    return in + ((size_t) y * across + image) * width * bands;
}

static void
reduce_plain(const uint8_t *in, uint8_t *out, int width, int height, int bands, int across,
    int out_width, const Table *table)
{
    const size_t out_row = (size_t) out_width * bands;
    for (int r = 0; r < height * across; r++) {
        const uint8_t *row = row_at(in, r, width, height, bands, across);
        uint8_t *q = out + r * out_row;
        for (int x = 0; x < out_width; x++) {
            const int16_t *weights = table->weights + (size_t) x * table->taps;
            const uint8_t *p = row + (size_t) table->start[x] * bands;
            for (int b = 0; b < bands; b++) {
                int32_t sum = ONE / 2;
                for (int i = 0; i < table->taps; i++)
                    sum += weights[i] * p[i * bands + b];
                *q++ = clipped(sum);
            }
        }
    }
}

#ifdef HAVE_X86

/* Sixteen vectors of sixteen bytes, vector i at src[i] + from, turned: byte i of vector c of
 * the result is byte c of vector i; vector c goes to dst[c] + to. */
__attribute__((target("avx2"))) static inline void
turn16(const uint8_t *const *src, size_t from, uint8_t *const *dst, size_t to)
{
    __m128i v[16], w[16];
    for (int i = 0; i < 16; i++)
        v[i] = _mm_loadu_si128((const __m128i *) (src[i] + from));
    for (int i = 0; i < 8; i++) {
        w[2 * i] = _mm_unpacklo_epi8(v[2 * i], v[2 * i + 1]);
        w[2 * i + 1] = _mm_unpackhi_epi8(v[2 * i], v[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        v[4 * i] = _mm_unpacklo_epi16(w[4 * i], w[4 * i + 2]);
        v[4 * i + 1] = _mm_unpackhi_epi16(w[4 * i], w[4 * i + 2]);
        v[4 * i + 2] = _mm_unpacklo_epi16(w[4 * i + 1], w[4 * i + 3]);
        v[4 * i + 3] = _mm_unpackhi_epi16(w[4 * i + 1], w[4 * i + 3]);
    }
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 4; k++) {
            w[8 * i + 2 * k] = _mm_unpacklo_epi32(v[8 * i + k], v[8 * i + 4 + k]);
            w[8 * i + 2 * k + 1] = _mm_unpackhi_epi32(v[8 * i + k], v[8 * i + 4 + k]);
        }
    for (int k = 0; k < 8; k++) {
        _mm_storeu_si128((__m128i *) (dst[2 * k] + to), _mm_unpacklo_epi64(w[k], w[8 + k]));
        _mm_storeu_si128((__m128i *) (dst[2 * k + 1] + to), _mm_unpackhi_epi64(w[k], w[8 + k]));
    }
}

/* BLOCK rows of `length` bytes turned into `columns`: byte r of column j is byte j of row r. */
__attribute__((target("avx2"))) static void
rows_to_columns(const uint8_t *const *rows, size_t length, uint8_t *columns)
{
    uint8_t *column[BLOCK];
    for (int r = 0; r < BLOCK; r++)
        column[r] = columns + r * BLOCK;
    size_t j = 0;
    for (; j + 16 <= length; j += 16)
        turn16(rows, j, column, j * BLOCK);
    for (; j < length; j++)
        for (int r = 0; r < BLOCK; r++)
            columns[j * BLOCK + r] = rows[r][j];
}

/* The inverse: `columns` written out as BLOCK rows. */
__attribute__((target("avx2"))) static void
columns_to_rows(const uint8_t *columns, size_t length, uint8_t *const *rows)
{
    const uint8_t *column[BLOCK];
    for (int r = 0; r < BLOCK; r++)
        column[r] = columns + r * BLOCK;
    size_t j = 0;
    for (; j + 16 <= length; j += 16)
        turn16(column, j * BLOCK, rows, j);
    for (; j < length; j++)
        for (int r = 0; r < BLOCK; r++)
            rows[r][j] = columns[j * BLOCK + r];
}

/* One output value for sixteen rows: `column` is the turned first tap of the value's band. */
__attribute__((target("avx2"))) static inline __m128i
sixteen_sums(const uint8_t *column, const int16_t *weights, int taps, int bands)
{
    const size_t next = (size_t) bands * BLOCK;
    __m256i low = _mm256_set1_epi32(ONE / 2), high = low;
    for (int i = 0; i < taps; i += 2, column += 2 * next) {
        const __m128i a = _mm_loadu_si128((const __m128i *) column);
        const __m128i b = _mm_loadu_si128((const __m128i *) (column + next));
        int32_t two;
        memcpy(&two, weights + i, sizeof two);
        const __m256i both = _mm256_set1_epi32(two);
        const __m256i rows_0_7 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(a, b));
        const __m256i rows_8_15 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(a, b));
        low = _mm256_add_epi32(low, _mm256_madd_epi16(rows_0_7, both));
        high = _mm256_add_epi32(high, _mm256_madd_epi16(rows_8_15, both));
    }
    low = _mm256_srai_epi32(low, WEIGHT_BITS);
    high = _mm256_srai_epi32(high, WEIGHT_BITS);
    const __m256i words = _mm256_permute4x64_epi64(_mm256_packs_epi32(low, high), 0xD8);
    return _mm_packus_epi16(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1));
}

/* Sixteen rows at a time: where the rows run out, the last is read again and its sums go to
 * a spare row. */
__attribute__((target("avx2"))) static int
reduce_avx2(const uint8_t *in, uint8_t *out, int width, int height, int bands, int across,
    int out_width, const Table *table)
{
    const size_t in_row = (size_t) width * bands, out_row = (size_t) out_width * bands;
    const int rows = height * across;
    uint8_t *columns = malloc(in_row * BLOCK);
    uint8_t *sums = malloc(out_row * BLOCK);
    uint8_t *spare = malloc(out_row);
    if (columns == NULL || sums == NULL || spare == NULL) {
        free(columns);
        free(sums);
        free(spare);
        return 0;
    }
    for (int y = 0; y < rows; y += BLOCK) {
        const uint8_t *from[BLOCK];
        uint8_t *to[BLOCK];
        for (int r = 0; r < BLOCK; r++) {
            from[r] = row_at(in, y + r < rows ? y + r : rows - 1, width, height, bands, across);
            to[r] = y + r < rows ? out + (y + r) * out_row : spare;
        }
        rows_to_columns(from, in_row, columns);
        uint8_t *s = sums;
        for (int x = 0; x < out_width; x++) {
            const int16_t *weights = table->weights + (size_t) x * table->taps;
            const uint8_t *first = columns + (size_t) table->start[x] * bands * BLOCK;
            for (int b = 0; b < bands; b++, s += BLOCK)
                _mm_storeu_si128(
                    (__m128i *) s, sixteen_sums(first + b * BLOCK, weights, table->taps, bands));
        }
        columns_to_rows(sums, out_row, to);
    }
    free(columns);
    free(sums);
    free(spare);
    return 1;
}

static int
has_avx2(void)
{
    return __builtin_cpu_supports("avx2");
}

#else

static int
reduce_avx2(const uint8_t *in, uint8_t *out, int width, int height, int bands, int across,
    int out_width, const Table *table)
{
    return 0;
}

static int
has_avx2(void)
{
    return 0;
}

#endif

static PyObject *
reduce_width(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {
        "pixels", "width", "height", "bands", "out_width", "shrink", "offset", "vector", "across",
        NULL};
    Py_buffer pixels;
    int width, height, bands, out_width, vector = 1, across = 1;
    double shrink, offset;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*iiiidd|pi", keywords, &pixels, &width,
            &height, &bands, &out_width, &shrink, &offset, &vector, &across))
        return NULL;
    const char *problem = NULL;
    if (width < 1 || height < 1 || bands < 1 || bands > 4 || out_width < 1 || across < 1)
        problem = "sizes must be positive, with 1 to 4 bands";
    else if (pixels.len % across || pixels.len / across % ((Py_ssize_t) width * bands) ||
        pixels.len / across / ((Py_ssize_t) width * bands) != height)
        problem = "pixels must hold across x width x height x bands values";
    else if (!(shrink >= 1.0 && shrink <= MAX_SHRINK))
        problem = "shrink must be between 1 and 64";
    else if (!isfinite(offset))
        problem = "offset must be a number";
    else if (taps_for(shrink) > width)
        problem = "the image is narrower than the taps of one output pixel";
    if (problem != NULL) {
        PyBuffer_Release(&pixels);
        PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    PyObject *result =
        PyBytes_FromStringAndSize(NULL, (Py_ssize_t) out_width * height * across * bands);
    if (result == NULL) {
        PyBuffer_Release(&pixels);
        return NULL;
    }
    const uint8_t *in = pixels.buf;
    uint8_t *out = (uint8_t *) PyBytes_AS_STRING(result);
    int done = 0;
    Py_BEGIN_ALLOW_THREADS
    Table table;
    if (fill_table(&table, width, out_width, shrink, offset)) {
        done = vector && has_avx2() &&
            reduce_avx2(in, out, width, height, bands, across, out_width, &table);
        if (!done) {
            reduce_plain(in, out, width, height, bands, across, out_width, &table);
            done = 1;
        }
    }
    free_table(&table);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&pixels);
    if (!done) {
        Py_DECREF(result);
        return PyErr_NoMemory();
    }
    return result;
}

static PyObject *
taps(PyObject *self, PyObject *arg)
{
    const double shrink = PyFloat_AsDouble(arg);
    if (shrink == -1.0 && PyErr_Occurred())
        return NULL;
    if (!(shrink >= 1.0 && shrink <= MAX_SHRINK)) {
        PyErr_SetString(PyExc_ValueError, "shrink must be between 1 and 64");
        return NULL;
    }
    return PyLong_FromLong(taps_for(shrink));
}

static PyMethodDef methods[] = {
    {"taps", taps, METH_O,
        "taps(shrink)\n--\n\n"
        "The input pixels each output pixel is made of at `shrink`: the image must be as wide."},
    {"reduce_width", (PyCFunction) (void (*)(void)) reduce_width, METH_VARARGS | METH_KEYWORDS,
        "reduce_width(pixels, width, height, bands, out_width, shrink, offset, vector=True, "
        "across=1)\n--\n\n"
        "The rows of `pixels` (8-bit values, `across` images of `width` x `height` x `bands` side "
        "by side) shrunk by Lanczos 3 to `out_width`, the images' rows one image after the other: "
        "output pixel x centred at (x + 0.5) * shrink - 0.5 + offset in the input's pixels. "
        "`vector=False` leaves AVX2 aside, for the same bytes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_reduce", "Rows shrunk by Lanczos 3 in 8 bits.", -1, methods,
};

PyMODINIT_FUNC
PyInit__reduce(void)
{
    return PyModule_Create(&module);
}
