/* A GIF frame's pixels packed with LZW, as GIF has it: variable-length codes of 3 to 12 bits,
 * least significant bit first, after a byte giving the code size of the raw indices, in
 * sub-blocks of at most 255 bytes, the last followed by an empty one.
 *
 * Given the canvas a decoder shows where the frame goes, the pixels equal to it are packed as
 * the see-through index instead, which leaves the canvas showing; and `unused_entry` finds an
 * index no pixel of a frame uses, to serve as that see-through index.
 *
 * The strings seen so far are found through an open-addressing hash table keyed by (the code of
 * the string, the index that follows it), each slot holding its key and its code together.
 * When the next code would be the last a 12-bit code can hold, a clear code starts the table
 * over (as most encoders do, so that no decoder meets code 4095).
 *
 * The work runs without Python's lock.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CODE_BITS 12
#define LAST_CODE ((1 << MAX_CODE_BITS) - 1)
/* Four times as many slots as the most strings a table holds: at most one slot in four is
 * taken, and a probe for a string not yet seen stops after 1.4 slots on average. On noise of
 * 256 colours that takes a third less time than twice as many slots; the table (64 KB) stays in
 * the processor's cache. */
#define SLOT_BITS 14
#define SLOTS (1 << SLOT_BITS)
#define SUB_BLOCK 255

/* A slot holds a string's code below its key, (code of the string without its last index) << 8
 * | that index: codes are 12 bits and never 0, so an empty slot is 0. */
#define CODE_MASK LAST_CODE
typedef struct {
    uint32_t slot[SLOTS];
} Table;

typedef struct {
    uint8_t *out;
    size_t used;
    uint64_t bits;
    int pending;
} Bits;

/* Appends `code` of `size` bits. All 8 bytes of the pending bits are stored each time, without a
 * branch, and the bytes past the last whole one are stored over by the next code: `out` has
 * room for 8 bytes past the codes (`lzw_bound`). */
static inline void
put_code(Bits *b, uint32_t code, int size)
{
    b->bits |= (uint64_t) code << b->pending;
    b->pending += size;
    uint64_t bits = b->bits;
    for (int i = 0; i < 8; i++, bits >>= 8)
        b->out[b->used + i] = (uint8_t) bits;
    const int whole = b->pending >> 3;
    b->used += whole;
    b->bits >>= whole << 3;
    b->pending &= 7;
}

static inline uint32_t
slot_of(uint32_t key)
{
    return (key * 2654435761u) >> (32 - SLOT_BITS);
}

/* The pixel at `i`: the see-through index where it equals the canvas. */
static inline uint32_t
drawn(const uint8_t *pixels, const uint8_t *canvas, int see_through, size_t i)
{
    return canvas && pixels[i] == canvas[i] ? (uint32_t) see_through : pixels[i];
}

/* `lzw_codes`' loop, built twice: with a canvas and without one, so that the loop without one
 * does not test for it at every pixel. */
static inline __attribute__((always_inline)) size_t
lzw_run(const uint8_t *pixels, const uint8_t *canvas, int see_through, size_t n, int min_size,
    Table *table, uint8_t *out)
{
    const uint32_t clear = 1u << min_size, end = clear + 1;
    uint32_t next = clear + 2;
    int size = min_size + 1;
    Bits b = {out, 0, 0, 0};
    memset(table->slot, 0, sizeof(table->slot));
    put_code(&b, clear, size);
    uint32_t string = drawn(pixels, canvas, see_through, 0);
    for (size_t i = 1; i < n; i++) {
        const uint32_t pixel = drawn(pixels, canvas, see_through, i);
        const uint32_t key = string << 8 | pixel;
        uint32_t slot = slot_of(key);
        while (table->slot[slot] && table->slot[slot] >> MAX_CODE_BITS != key)
            slot = (slot + 1) & (SLOTS - 1);
        if (table->slot[slot]) {
            string = table->slot[slot] & CODE_MASK;
            continue;
        }
        put_code(&b, string, size);
        string = pixel;
        table->slot[slot] = key << MAX_CODE_BITS | next++;
        if (next > (1u << size) && size < MAX_CODE_BITS)
            size++;
        if (next == LAST_CODE) {
            put_code(&b, clear, size);
            memset(table->slot, 0, sizeof(table->slot));
            next = clear + 2;
            size = min_size + 1;
        }
    }
    put_code(&b, string, size);
    /* The decoder adds a string on reading that last code, as if one more followed. */
    if (next >= (1u << size) && size < MAX_CODE_BITS)
        size++;
    put_code(&b, end, size);
    if (b.pending)
        put_code(&b, 0, 8 - b.pending);
    return b.used;
}

/* The LZW codes of `pixels` (each below 2 ** `min_size`; where equal to `canvas`, if given,
 * `see_through`) as bytes in `out`, which holds at least `lzw_bound` bytes; how many it took. */
static size_t
lzw_codes(const uint8_t *pixels, const uint8_t *canvas, int see_through, size_t n, int min_size,
    Table *table, uint8_t *out)
{
    if (canvas)
        return lzw_run(pixels, canvas, see_through, n, min_size, table, out);
    return lzw_run(pixels, NULL, see_through, n, min_size, table, out);
}

/* At most one code of 12 bits per pixel, besides the first clear code, the end code and one
 * clear code per 4,094 codes; and 8 bytes that `put_code` stores past the last code. */
static size_t
lzw_bound(size_t n)
{
    return (n + 3 + n / 4094) * MAX_CODE_BITS / 8 + 2 + 8;
}

/* `codes` cut into sub-blocks after the code size byte, with the empty block at the end. */
static size_t
sub_blocks(const uint8_t *codes, size_t n, int min_size, uint8_t *out)
{
    size_t used = 0;
    out[used++] = (uint8_t) min_size;
    for (size_t at = 0; at < n; at += SUB_BLOCK) {
        const size_t length = n - at < SUB_BLOCK ? n - at : SUB_BLOCK;
        out[used++] = (uint8_t) length;
        memcpy(out + used, codes + at, length);
        used += length;
    }
    out[used++] = 0;
    return used;
}

static int
fits(const uint8_t *pixels, size_t n, int bits)
{
    for (size_t i = 0; i < n; i++)
        if (pixels[i] >> bits)
            return 0;
    return 1;
}

/* The code size byte, the LZW codes in sub-blocks and the empty block, in a new bytes object;
 * NULL when out of memory. */
static PyObject *
packed(const uint8_t *pixels, const uint8_t *canvas, int see_through, size_t n, int min_size)
{
    const size_t bound = lzw_bound(n);
    Table *table = malloc(sizeof(Table));
    uint8_t *codes = table ? malloc(bound) : NULL;
    uint8_t *blocks = codes ? malloc(bound + bound / SUB_BLOCK + 3) : NULL;
    PyObject *result = NULL;
    if (blocks) {
        size_t length;
        Py_BEGIN_ALLOW_THREADS
        const size_t coded = lzw_codes(pixels, canvas, see_through, n, min_size, table, codes);
        length = sub_blocks(codes, coded, min_size, blocks);
        Py_END_ALLOW_THREADS
        result = PyBytes_FromStringAndSize((const char *) blocks, (Py_ssize_t) length);
    }
    else
        PyErr_NoMemory();
    free(table);
    free(codes);
    free(blocks);
    return result;
}

/* Why `indices` (and `canvas`, when given) cannot be packed with codes of `min_size` bits and
 * `see_through`; NULL when they can. */
static const char *
refused(const Py_buffer *indices, const Py_buffer *canvas, int min_size, int see_through)
{
    if (min_size < 2 || min_size > 8)
        return "min_size must be 2-8";
    if (indices->len == 0)
        return "indices must hold at least one pixel";
    if (!fits(indices->buf, (size_t) indices->len, min_size))
        return "an index does not fit in min_size bits";
    if (canvas && canvas->len != indices->len)
        return "canvas must hold as many pixels as indices";
    if (canvas && (see_through < 0 || see_through >> min_size))
        return "a canvas needs a see_through index of min_size bits";
    return NULL;
}

static PyObject *
pack(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"indices", "min_size", "canvas", "see_through", NULL};
    Py_buffer indices, canvas;
    PyObject *canvas_object = Py_None;
    int min_size, see_through = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*i|Oi", keywords, &indices, &min_size,
            &canvas_object, &see_through))
        return NULL;
    const int over_canvas = canvas_object != Py_None;
    if (over_canvas && PyObject_GetBuffer(canvas_object, &canvas, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&indices);
        return NULL;
    }
    PyObject *result = NULL;
    const char *reason = refused(&indices, over_canvas ? &canvas : NULL, min_size, see_through);
    if (reason)
        PyErr_SetString(PyExc_ValueError, reason);
    else
        result = packed(indices.buf, over_canvas ? canvas.buf : NULL, see_through,
            (size_t) indices.len, min_size);
    PyBuffer_Release(&indices);
    if (over_canvas)
        PyBuffer_Release(&canvas);
    return result;
}

static PyObject *
unused_entry(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"indices", "entries", NULL};
    Py_buffer indices;
    int entries;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*i", keywords, &indices, &entries))
        return NULL;
    uint8_t used[256] = {0};
    const uint8_t *pixels = indices.buf;
    for (Py_ssize_t i = 0; i < indices.len; i++)
        used[pixels[i]] = 1;
    PyBuffer_Release(&indices);
    for (int entry = 0; entry < entries && entry < 256; entry++)
        if (!used[entry])
            return PyLong_FromLong(entry);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"pack", (PyCFunction) (void (*)(void)) pack, METH_VARARGS | METH_KEYWORDS,
        "pack(indices, min_size, canvas=None, see_through=-1)\n--\n\n"
        "A GIF image's data for `indices` (palette indices, row after row, each below 2 ** "
        "`min_size`): the code size byte, the LZW codes in sub-blocks, the empty block. "
        "Where `indices` equal `canvas`, the pixels are packed as `see_through`."},
    {"unused_entry", (PyCFunction) (void (*)(void)) unused_entry, METH_VARARGS | METH_KEYWORDS,
        "unused_entry(indices, entries)\n--\n\n"
        "The first index below `entries` that no pixel of `indices` uses; None if all are."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_gifpack", "GIF frames packed with LZW.", -1, methods,
};

PyMODINIT_FUNC
PyInit__gifpack(void)
{
    return PyModule_Create(&module);
}
