/* Colour weighted by alpha in 8 bits, value for value as libvips' premultiply followed by a
 * cast back to 8 bits: each colour times (alpha / 255) in single precision, truncated. libvips
 * computes the same in floats of 4 bytes a value, a pass four times the size of the pixels,
 * where this writes 8-bit values straight away.
 *
 * The work runs without Python's lock.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

/* weighted[alpha][value]: the product computed once for every pair, as libvips computes it. */
static uint8_t weighted_by[256][256];

static void
fill_table(void)
{
    for (int alpha = 0; alpha < 256; alpha++) {
        const float weight = alpha / 255.0f;
        for (int value = 0; value < 256; value++)
            weighted_by[alpha][value] = (uint8_t) (value * weight);
    }
}

static void
weigh(const uint8_t *in, uint8_t *out, Py_ssize_t pixels, int bands)
{
    const int colours = bands - 1;
    for (Py_ssize_t p = 0; p < pixels; p++) {
        const uint8_t *pixel = in + p * bands;
        uint8_t *weighted = out + p * bands;
        const uint8_t *row = weighted_by[pixel[colours]];
        for (int band = 0; band < colours; band++)
            weighted[band] = row[pixel[band]];
        weighted[colours] = pixel[colours];
    }
}

/* The common case, four bands, unrolled; an opaque pixel is copied as it is. */
static void
weigh_rgba(const uint8_t *in, uint8_t *out, Py_ssize_t pixels)
{
    for (Py_ssize_t p = 0; p < pixels; p++) {
        const uint8_t *pixel = in + 4 * p;
        uint8_t *weighted = out + 4 * p;
        if (pixel[3] == 255) {
            memcpy(weighted, pixel, 4);
            continue;
        }
        const uint8_t *row = weighted_by[pixel[3]];
        weighted[0] = row[pixel[0]];
        weighted[1] = row[pixel[1]];
        weighted[2] = row[pixel[2]];
        weighted[3] = pixel[3];
    }
}

static PyObject *
premultiply(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"pixels", "bands", NULL};
    Py_buffer pixels;
    int bands;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*i", keywords, &pixels, &bands))
        return NULL;
    if (bands < 2 || pixels.len % bands) {
        PyBuffer_Release(&pixels);
        PyErr_SetString(PyExc_ValueError, "pixels must be whole pixels of 2 bands or more");
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, pixels.len);
    if (out == NULL) {
        PyBuffer_Release(&pixels);
        return NULL;
    }
    const uint8_t *in = pixels.buf;
    uint8_t *weighted = (uint8_t *) PyBytes_AS_STRING(out);
    const Py_ssize_t count = pixels.len / bands;
    Py_BEGIN_ALLOW_THREADS
    if (bands == 4)
        weigh_rgba(in, weighted, count);
    else
        weigh(in, weighted, count, bands);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&pixels);
    return out;
}

static PyMethodDef methods[] = {
    {"premultiply", (PyCFunction) (void (*)(void)) premultiply, METH_VARARGS | METH_KEYWORDS,
        "premultiply(pixels, bands)\n--\n\n"
        "`pixels` (8-bit values, `bands` a pixel, alpha last) with each colour weighted by its "
        "alpha, as libvips' premultiply cast back to 8 bits gives them."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_alpha", "Colour weighted by alpha in 8 bits.", -1, methods,
};

PyMODINIT_FUNC
PyInit__alpha(void)
{
    fill_table();
    return PyModule_Create(&module);
}
