/* The tonal block on 8-bit sRGB in one pass over memory: each pixel to libvips' 16-bit CIELAB
 * (LabS: lightness 0-100 as 0-32767, a and b times 256), its lightness through a table, an
 * unsharp mask on lightness, and back to 8-bit sRGB.
 *
 * The colour science is the standard one, with libvips' constants: the sRGB curve, its matrix
 * to XYZ to four places, the D65 white and CIELAB's cube root with its linear foot. LabS
 * codes are truncated, as libvips truncates them. The way back rounds to the nearest 8-bit
 * value exactly, where libvips' own is within one level of it.
 *
 * The work runs without Python's lock.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LABS_L_MAX 32767
#define LABS_L_SCALE (32767.0f / 100.0f)
#define LABS_AB_SCALE 256.0f
#define CODES 65536
/* Buckets of linear light, each narrower than the narrowest gap between two 8-bit values
 * (1 / (255 x 12.92), near black): a bucket holds at most one step to the next value. */
#define ENCODE_BUCKETS 4096
/* Pixels converted at a time: their values in floats stay in the first-level cache. */
#define CHUNK 256
/* The most taps of a blur mask, and the most their sum may be: lightness times the sum fits
 * in 32 bits. */
#define MAX_TAPS 1025
#define MAX_TAP_SUM 65535

static const double WHITE[3] = {0.95047, 1.0, 1.08883};
static const double SRGB_TO_XYZ[3][3] = {
    {0.4124, 0.3576, 0.1805},
    {0.2126, 0.7152, 0.0722},
    {0.0193, 0.1192, 0.9505},
};
/* CIELAB's knee, 6/29: the cube root above its cube, a straight line below. */
#define KNEE (6.0f / 29.0f)
#define FOOT_SLOPE (1.0f / (3.0f * KNEE * KNEE))
#define FOOT_OFFSET (4.0f / 29.0f)

/* to_white[c][band][v]: band's 8-bit value v as linear light, times the matrix's entry for XYZ
 * component c, over the white's c: X/Xn, Y/Yn and Z/Zn are three sums. */
static float to_white[3][3][256];
static float xyz_to_srgb[3][3];

/* A bucket of linear light: the 8-bit value at its start, and the light within it at which the
 * next value begins (2, beyond any light, where none does). */
typedef struct {
    float next_at;
    int32_t value;
} Bucket;

static Bucket buckets[ENCODE_BUCKETS + 1];

static double
srgb_to_linear(double v)
{
    return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
}

static void
invert(const double m[3][3], float out[3][3])
{
    const double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    for (int row = 0; row < 3; row++)
        for (int col = 0; col < 3; col++) {
            const int r0 = (col + 1) % 3, r1 = (col + 2) % 3;
            const int c0 = (row + 1) % 3, c1 = (row + 2) % 3;
            out[row][col] = (float) ((m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) / det);
        }
}

static void
fill_tables(void)
{
    for (int v = 0; v < 256; v++) {
        const double linear = srgb_to_linear(v / 255.0);
        for (int c = 0; c < 3; c++)
            for (int band = 0; band < 3; band++)
                to_white[c][band][v] = (float) (SRGB_TO_XYZ[c][band] * linear / WHITE[c]);
    }
    invert(SRGB_TO_XYZ, xyz_to_srgb);
    float threshold[256];
    for (int k = 0; k < 255; k++)
        threshold[k] = (float) srgb_to_linear((k + 0.5) / 255.0);
    threshold[255] = 2.0f;
    int value = 0;
    for (int q = 0; q <= ENCODE_BUCKETS; q++) {
        const float start = (float) q / ENCODE_BUCKETS, end = (float) (q + 1) / ENCODE_BUCKETS;
        while (threshold[value] <= start)
            value++;
        buckets[q].value = value;
        buckets[q].next_at = threshold[value] < end ? threshold[value] : 2.0f;
    }
}

/* CIELAB's f: the cube root above the knee's cube, by two Halley steps from a guess made on the
 * bits of the float (good to a few percent), which leaves float's own rounding; the straight
 * foot below. Arithmetic alone, so that the loops around it vectorise. */
static inline float
lab_root(float t)
{
    const float above = t > KNEE * KNEE * KNEE ? t : KNEE * KNEE * KNEE;
    int32_t bits;
    memcpy(&bits, &above, sizeof bits);
    bits = (int32_t) ((float) bits * (1.0f / 3.0f)) + 709921077;
    float y;
    memcpy(&y, &bits, sizeof y);
    for (int step = 0; step < 2; step++) {
        const float cube = y * y * y;
        y = y * (cube + 2.0f * above) / (2.0f * cube + above);
    }
    const float foot = t * FOOT_SLOPE + FOOT_OFFSET;
    return t > KNEE * KNEE * KNEE ? y : foot;
}

static void
to_labs(const uint8_t *rgb, int16_t *labs, Py_ssize_t pixels, const uint16_t *lightness)
{
    float ratio[3][CHUNK];
    for (Py_ssize_t start = 0; start < pixels; start += CHUNK) {
        const int count = pixels - start < CHUNK ? (int) (pixels - start) : CHUNK;
        const uint8_t *in = rgb + 3 * start;
        for (int p = 0; p < count; p++) {
            const uint8_t r = in[3 * p], g = in[3 * p + 1], b = in[3 * p + 2];
            for (int c = 0; c < 3; c++)
                ratio[c][p] = to_white[c][0][r] + to_white[c][1][g] + to_white[c][2][b];
        }
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < count; p++)
                ratio[c][p] = lab_root(ratio[c][p]);
        int16_t *out = labs + 3 * start;
        for (int p = 0; p < count; p++) {
            const float fx = ratio[0][p], fy = ratio[1][p], fz = ratio[2][p];
            int l = (int) ((116.0f * fy - 16.0f) * LABS_L_SCALE);
            l = l < 0 ? 0 : l > LABS_L_MAX ? LABS_L_MAX : l;
            const int mapped = lightness ? lightness[l] : l;
            out[3 * p] = (int16_t) (mapped > LABS_L_MAX ? LABS_L_MAX : mapped);
            out[3 * p + 1] = (int16_t) (500.0f * (fx - fy) * LABS_AB_SCALE);
            out[3 * p + 2] = (int16_t) (200.0f * (fy - fz) * LABS_AB_SCALE);
        }
    }
}

static inline float
unroot(float f)
{
    const float cube = f * f * f, foot = (f - FOOT_OFFSET) * (1.0f / FOOT_SLOPE);
    return f > KNEE ? cube : foot;
}

static inline uint8_t
encode(float light)
{
    light = light > 0.0f ? light : 0.0f; /* NaN too */
    light = light < 1.0f ? light : 1.0f;
    const Bucket bucket = buckets[(int) (light * ENCODE_BUCKETS)];
    return (uint8_t) (bucket.value + (light >= bucket.next_at));
}

/* LabS to linear sRGB light, arithmetic alone that the compiler can vectorise. */
static void
to_linear(const int16_t *restrict labs, float *restrict red, float *restrict green,
          float *restrict blue, int pixels)
{
    const float wx = (float) WHITE[0], wy = (float) WHITE[1], wz = (float) WHITE[2];
    const float m00 = xyz_to_srgb[0][0], m01 = xyz_to_srgb[0][1], m02 = xyz_to_srgb[0][2];
    const float m10 = xyz_to_srgb[1][0], m11 = xyz_to_srgb[1][1], m12 = xyz_to_srgb[1][2];
    const float m20 = xyz_to_srgb[2][0], m21 = xyz_to_srgb[2][1], m22 = xyz_to_srgb[2][2];
    for (int p = 0; p < pixels; p++) {
        red[p] = labs[3 * p];
        green[p] = labs[3 * p + 1];
        blue[p] = labs[3 * p + 2];
    }
    for (int p = 0; p < pixels; p++) {
        const float fy = red[p] * (1.0f / (LABS_L_SCALE * 116.0f)) + 16.0f / 116.0f;
        const float fx = fy + green[p] * (1.0f / (500.0f * LABS_AB_SCALE));
        const float fz = fy - blue[p] * (1.0f / (200.0f * LABS_AB_SCALE));
        const float x = unroot(fx) * wx, y = unroot(fy) * wy, z = unroot(fz) * wz;
        red[p] = m00 * x + m01 * y + m02 * z;
        green[p] = m10 * x + m11 * y + m12 * z;
        blue[p] = m20 * x + m21 * y + m22 * z;
    }
}

static void
to_srgb(const int16_t *labs, uint8_t *rgb, Py_ssize_t pixels)
{
    float light[3][CHUNK];
    for (Py_ssize_t start = 0; start < pixels; start += CHUNK) {
        const int count = pixels - start < CHUNK ? (int) (pixels - start) : CHUNK;
        to_linear(labs + 3 * start, light[0], light[1], light[2], count);
        uint8_t *out = rgb + 3 * start;
        for (int p = 0; p < count; p++) {
            out[3 * p] = encode(light[0][p]);
            out[3 * p + 1] = encode(light[1][p]);
            out[3 * p + 2] = encode(light[2][p]);
        }
    }
}

static int64_t
tap_sum(const int32_t *taps, int count)
{
    int64_t sum = 0;
    for (int k = 0; k < count; k++)
        sum += taps[k];
    return sum;
}

static int
taps_fit(const int32_t *taps, int count)
{
    for (int k = 0; k < count; k++)
        if (taps[k] < 0)
            return 0;
    const int64_t sum = tap_sum(taps, count);
    return sum > 0 && sum <= MAX_TAP_SUM;
}

/* `total` over the taps' sum, floored: `total` is never negative, so the truncation floors, and
 * the half added keeps a whole quotient from falling below itself in floating point. */
static inline int32_t
scaled_down(int32_t total, double inverse)
{
    return (int32_t) ((total + 0.5) * inverse);
}

/* Lightness of `labs` (0-32767, as `to_labs` keeps it) blurred by the separable integer mask
 * `taps` (their sum is the scale), columns first, each pass floored, edges repeated; then each
 * lightness moved by boost[lightness - blurred + 32768] and kept within 0-32767. */
static int
sharpen(int16_t *labs, Py_ssize_t width, Py_ssize_t height, const int32_t *taps, int count,
        const int16_t *boost)
{
    const int radius = count / 2;
    const double inverse = 1.0 / tap_sum(taps, count);
    int16_t *lightness = malloc(sizeof(int16_t) * width * height);
    int32_t *row = malloc(sizeof(int32_t) * (width + 2 * radius));
    int32_t *acc = malloc(sizeof(int32_t) * width);
    if (!lightness || !row || !acc) {
        free(lightness);
        free(row);
        free(acc);
        return -1;
    }
    for (Py_ssize_t p = 0; p < width * height; p++)
        lightness[p] = labs[3 * p];
    for (Py_ssize_t y = 0; y < height; y++) {
        memset(acc, 0, sizeof(int32_t) * width);
        for (int k = 0; k < count; k++) {
            Py_ssize_t source = y + k - radius;
            source = source < 0 ? 0 : source >= height ? height - 1 : source;
            const int16_t *line = lightness + source * width;
            const int32_t tap = taps[k];
            for (Py_ssize_t x = 0; x < width; x++)
                acc[x] += tap * line[x];
        }
        for (Py_ssize_t x = 0; x < width; x++)
            row[radius + x] = scaled_down(acc[x], inverse);
        for (int k = 0; k < radius; k++) {
            row[k] = row[radius];
            row[radius + width + k] = row[radius + width - 1];
        }
        memset(acc, 0, sizeof(int32_t) * width);
        for (int k = 0; k < count; k++) {
            const int32_t tap = taps[k];
            for (Py_ssize_t x = 0; x < width; x++)
                acc[x] += tap * row[x + k];
        }
        const int16_t *own = lightness + y * width;
        int16_t *line = labs + 3 * y * width;
        for (Py_ssize_t x = 0; x < width; x++) {
            const int l = own[x];
            const int moved = l + boost[l - scaled_down(acc[x], inverse) + 32768];
            line[3 * x] = (int16_t) (moved < 0 ? 0 : moved > LABS_L_MAX ? LABS_L_MAX : moved);
        }
    }
    free(lightness);
    free(row);
    free(acc);
    return 0;
}

static int
check_length(const Py_buffer *buffer, Py_ssize_t length, const char *message)
{
    if (buffer->buf != NULL && buffer->len != length) {
        PyErr_SetString(PyExc_ValueError, message);
        return -1;
    }
    return 0;
}

static PyObject *
tone(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"pixels", "width", "height", "lightness", "taps", "boost", NULL};
    Py_buffer pixels, lightness = {0}, taps = {0}, boost = {0};
    Py_ssize_t width, height;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*nn|z*z*z*", keywords, &pixels, &width,
                                     &height, &lightness, &taps, &boost))
        return NULL;
    PyObject *out = NULL;
    int16_t *labs = NULL;
    /* Sides whose product, times the 14 bytes a pixel takes at most, would not fit are refused
     * before any arithmetic on them. */
    const int sides_fit = width > 0 && height > 0 && width <= PY_SSIZE_T_MAX / 16 / height;
    const Py_ssize_t count = sides_fit ? width * height : 0;
    const Py_ssize_t tap_count = taps.buf ? taps.len / (Py_ssize_t) sizeof(int32_t) : 0;
    if (count == 0 || pixels.len != 3 * count) {
        PyErr_SetString(PyExc_ValueError, "pixels must be width x height pixels of 3 bytes");
        goto done;
    }
    if (check_length(&lightness, CODES * 2, "lightness must hold 65,536 16-bit codes") < 0
        || check_length(&boost, CODES * 2, "boost must hold 65,536 16-bit codes") < 0)
        goto done;
    if ((taps.buf == NULL) != (boost.buf == NULL) || (taps.buf && (tap_count % 2 == 0
        || tap_count > MAX_TAPS || taps.len % (Py_ssize_t) sizeof(int32_t)
        || !taps_fit(taps.buf, (int) tap_count)))) {
        PyErr_SetString(PyExc_ValueError, "taps must be an odd number of at most 1,025 32-bit "
                                          "integers, none negative, summing to 1-65,535, given "
                                          "with boost");
        goto done;
    }
    labs = malloc(sizeof(int16_t) * 3 * count);
    out = PyBytes_FromStringAndSize(NULL, 3 * count);
    if (labs == NULL || out == NULL) {
        Py_CLEAR(out);
        PyErr_NoMemory();
        goto done;
    }
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    to_labs(pixels.buf, labs, count, lightness.buf);
    if (taps.buf)
        failed = sharpen(labs, width, height, taps.buf, (int) tap_count, boost.buf);
    if (!failed)
        to_srgb(labs, (uint8_t *) PyBytes_AS_STRING(out), count);
    Py_END_ALLOW_THREADS
    if (failed) {
        Py_CLEAR(out);
        PyErr_NoMemory();
    }
done:
    free(labs);
    PyBuffer_Release(&pixels);
    PyBuffer_Release(&lightness);
    PyBuffer_Release(&taps);
    PyBuffer_Release(&boost);
    return out;
}

static PyMethodDef methods[] = {
    {"tone", (PyCFunction) (void (*)(void)) tone, METH_VARARGS | METH_KEYWORDS,
        "tone(pixels, width, height, lightness=None, taps=None, boost=None)\n--\n\n"
        "8-bit sRGB `pixels` through LabS: each lightness code through the `lightness` table "
        "(65,536 16-bit codes), then, with `taps` (an odd number of 32-bit integers) and "
        "`boost` (65,536 16-bit codes), lightness moved by boost[lightness - blurred + 32768] "
        "where blurred is lightness under the separable mask `taps`. 8-bit sRGB out."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_labs", "The tonal block on 8-bit sRGB through 16-bit CIELAB.", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__labs(void)
{
    fill_tables();
    return PyModule_Create(&module);
}
