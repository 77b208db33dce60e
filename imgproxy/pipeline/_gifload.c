/* The first frames of a GIF (all of an animation's, or a still's one) decoded into one strip of
 * frames, each the whole canvas as libvips' GIF loader composes it, as RGBA or, without the
 * alpha, as RGB (`Layout`):
 *
 * - the canvas starts see-through (every byte 0);
 * - a frame's pixels go on the canvas through its local colour table, or else the global one,
 *   whose entries are opaque; entries past the end of a table are those of the tables read
 *   before it (see-through black for the global table, which starts at 0), and a file without
 *   a global table has black and white as its first two entries;
 * - the frame's see-through index, if its graphic control sets one, leaves the canvas showing;
 * - once shown, a frame whose disposal is 2 clears its rectangle: to see-through if its graphic
 *   control has the see-through flag, else to the background colour (the global table's entry
 *   the screen names, or its first when it names none); a frame whose disposal is 3 (or 4, which
 *   some encoders write for 3) puts back the canvas as it was before the frame was drawn.
 *
 * The LZW codes of a frame are decoded by copying each code's string from where it was last
 * written: the string a new code stands for is the one written just before, followed by the
 * first index of the one written now, so it lies in the output already, and a copy of 8 bytes
 * at a time (the buffers keep room for the bytes copied past a string's end) replaces the walk
 * along a chain of prefixes. Each frame is drawn on one canvas kept from frame to frame, then
 * copied out to its place in the strip; a single frame is drawn in the strip itself, so that a
 * still holds no more memory than libvips' loader would.
 *
 * Anything else — a logical screen of another size than the loader reports, a frame reaching
 * past the canvas or empty, a code size outside 2-8, codes that end or stop before the frame is
 * whole, a code the string table does not hold yet, data cut short — returns None, and the
 * caller leaves the file to libvips. The work runs without Python's lock.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CODES 4096
#define MAX_CODE_BITS 12
#define CHUNK 8
/* The 256 strings of one index each, then room for a chunk read past the last of them. */
#define ROOTS (256 + CHUNK)
/* Past a frame's last index, the longest string a code may stand for and a chunk's overrun. */
#define OUT_SLACK (MAX_CODES + 2 * CHUNK)
/* Codes are read 8 bytes at a time as one little-endian number. */
#define LITTLE_ENDIAN_HOST (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
#define EXTENSION 0x21
#define IMAGE 0x2c
#define GRAPHIC_CONTROL 0xf9
#define COMMENT 0xfe

/* What a decode gave: every frame, or a file left to libvips, or no memory, or a see-through
 * pixel where the strip was to hold colour alone (RGB_IF_OPAQUE), which decodes again as RGBA. */
typedef enum { DONE, OUTSIDE, NO_MEMORY, SEE_THROUGH } Outcome;

/* The strip's pixels: RGBA; RGB where every pixel of every frame is opaque, else RGBA; RGB, the
 * alpha dropped whatever it is (libvips gives a GIF no alpha band when no frame has a
 * see-through index). */
typedef enum { RGBA, RGB_IF_OPAQUE, RGB } Layout;

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t at;
} Reader;

typedef struct {
    uint32_t width, height;
    uint32_t global[256];
    uint32_t local[256];
    uint32_t background;
} Screen;

typedef struct {
    int disposal;
    int see_through_flag;
    int see_through;
    uint32_t x, y, w, h;
    int interlaced;
    const uint32_t *colours;
} Frame;

typedef struct {
    uint32_t at;
    uint32_t length;
} String;

/* Scratch space of one decode: a frame's codes gathered from their sub-blocks, its indices
 * (after the one-index strings) and the canvas a disposal of 3 puts back. */
typedef struct {
    uint8_t *codes;
    uint8_t *indices;
    size_t room;
    uint32_t *kept;
    String strings[MAX_CODES];
} Scratch;

static inline int
available(const Reader *r, size_t n)
{
    return r->at <= r->size && r->size - r->at >= n;
}

static inline uint32_t
opaque_colour(const uint8_t *rgb)
{
    const uint8_t rgba[4] = {rgb[0], rgb[1], rgb[2], 0xff};
    uint32_t colour;
    memcpy(&colour, rgba, 4);
    return colour;
}

static int
read_table(Reader *r, uint32_t *table, int flags)
{
    const size_t entries = (size_t) 2 << (flags & 7);
    if (!available(r, 3 * entries))
        return 0;
    for (size_t i = 0; i < entries; i++)
        table[i] = opaque_colour(r->data + r->at + 3 * i);
    r->at += 3 * entries;
    return 1;
}

static int
read_screen(Reader *r, Screen *s)
{
    const uint8_t *d = r->data;
    if (!available(r, 13) || (memcmp(d, "GIF87a", 6) && memcmp(d, "GIF89a", 6)))
        return 0;
    if ((uint32_t) (d[6] | d[7] << 8) != s->width || (uint32_t) (d[8] | d[9] << 8) != s->height)
        return 0;
    const int flags = d[10], named = d[11];
    r->at = 13;
    memset(s->global, 0, sizeof s->global);
    memset(s->local, 0, sizeof s->local);
    if (flags & 0x80) {
        if (!read_table(r, s->global, flags))
            return 0;
        const int entries = 2 << (flags & 7);
        s->background = s->global[named < entries ? named : 0];
    } else {
        static const uint8_t black[3] = {0, 0, 0}, white[3] = {0xff, 0xff, 0xff};
        s->global[0] = opaque_colour(black);
        s->global[1] = opaque_colour(white);
        s->background = s->global[0];
    }
    return 1;
}

/* Past a run of sub-blocks and the empty one that ends it. */
static int
skip_sub_blocks(Reader *r)
{
    while (available(r, 1) && r->data[r->at] != 0) {
        const size_t block = (size_t) r->data[r->at] + 1;
        if (!available(r, block))
            return 0;
        r->at += block;
    }
    if (!available(r, 1))
        return 0;
    r->at++;
    return 1;
}

static int
read_extension(Reader *r, Frame *f)
{
    if (!available(r, 2))
        return 0;
    const uint8_t *d = r->data + r->at;
    if (d[0] == COMMENT) {
        r->at += 1;
        return skip_sub_blocks(r);
    }
    const size_t skipped = 2 + (size_t) d[1];
    if (!available(r, skipped))
        return 0;
    if (d[0] == GRAPHIC_CONTROL) {
        if (d[1] != 4)
            return 0;
        f->disposal = (d[2] >> 2) & 7;
        if (f->disposal == 4)
            f->disposal = 3;
        if (d[2] & 1) {
            f->see_through_flag = 1;
            f->see_through = d[5];
        }
    }
    r->at += skipped;
    return skip_sub_blocks(r);
}

/* The extensions and image descriptor of the next frame, and its local colour table. */
static int
read_frame(Reader *r, Screen *s, Frame *f)
{
    memset(f, 0, sizeof *f);
    f->see_through = -1;
    while (available(r, 1) && r->data[r->at] == EXTENSION) {
        r->at++;
        if (!read_extension(r, f))
            return 0;
    }
    if (!available(r, 10) || r->data[r->at] != IMAGE)
        return 0;
    const uint8_t *d = r->data + r->at;
    f->x = d[1] | d[2] << 8;
    f->y = d[3] | d[4] << 8;
    f->w = d[5] | d[6] << 8;
    f->h = d[7] | d[8] << 8;
    const int flags = d[9];
    r->at += 10;
    if (!f->w || !f->h || f->x + f->w > s->width || f->y + f->h > s->height)
        return 0;
    f->interlaced = (flags & 0x40) != 0;
    f->colours = s->global;
    if (flags & 0x80) {
        if (!read_table(r, s->local, flags))
            return 0;
        f->colours = s->local;
    }
    return 1;
}

/* The frame's codes, out of their sub-blocks, into `codes`: their byte count, or 0 when the
 * data ends first. */
static size_t
gather_codes(Reader *r, uint8_t *codes)
{
    size_t n = 0;
    while (available(r, 1) && r->data[r->at] != 0) {
        const size_t block = r->data[r->at];
        if (!available(r, block + 1))
            return 0;
        memcpy(codes + n, r->data + r->at + 1, block);
        n += block;
        r->at += block + 1;
    }
    if (!available(r, 1))
        return 0;
    r->at++;
    memset(codes + n, 0, CHUNK);
    return n;
}

static inline void
copy_string(uint8_t *to, const uint8_t *from, uint32_t length)
{
    for (uint32_t i = 0; i < length; i += CHUNK) {
        uint64_t chunk;
        memcpy(&chunk, from + i, CHUNK);
        memcpy(to + i, &chunk, CHUNK);
    }
}

/* The first `pixels` indices of the codes into `base + ROOTS`; 0 unless they come whole. */
static int
lzw_decode(const uint8_t *codes, size_t n, int min_size, uint8_t *base, String *strings,
    size_t pixels)
{
    const uint32_t clear = 1u << min_size, end = clear + 1;
    const uint64_t bits = (uint64_t) n * 8;
    uint64_t at_bit = 0;
    int size = min_size + 1;
    uint32_t next = clear + 2, mask = (1u << size) - 1;
    int64_t previous = -1;
    uint32_t previous_at = 0;
    size_t done = 0;
    for (uint32_t i = 0; i < clear; i++)
        strings[i] = (String) {i, 1};
    while (done < pixels) {
        if (at_bit + size > bits)
            return 0;
        uint64_t window;
        memcpy(&window, codes + (at_bit >> 3), CHUNK);
        const uint32_t code = (uint32_t) (window >> (at_bit & 7)) & mask;
        at_bit += size;
        if (code == clear) {
            size = min_size + 1;
            mask = (1u << size) - 1;
            next = clear + 2;
            previous = -1;
            continue;
        }
        const uint32_t at = ROOTS + (uint32_t) done;
        uint8_t *out = base + at;
        uint32_t length;
        if (previous < 0) {
            if (code > clear)
                return 0;
            *out = (uint8_t) code;
            length = 1;
        } else if (code < next && code != end) {
            length = strings[code].length;
            copy_string(out, base + strings[code].at, length);
            if (next < MAX_CODES)
                strings[next++] = (String) {previous_at, strings[previous].length + 1};
        } else if (code == next && next < MAX_CODES) {
            const String before = strings[previous];
            length = before.length + 1;
            copy_string(out, base + before.at, before.length);
            out[before.length] = out[0];
            strings[next++] = (String) {at, length};
        } else {
            return 0;
        }
        if (next == (1u << size) && size < MAX_CODE_BITS) {
            size++;
            mask = (1u << size) - 1;
        }
        done += length;
        previous = code;
        previous_at = at;
    }
    return 1;
}

/* The canvas row of each of a frame's rows in the order they are stored. */
static void
row_order(const Frame *f, uint32_t *rows)
{
    if (!f->interlaced) {
        for (uint32_t i = 0; i < f->h; i++)
            rows[i] = i;
        return;
    }
    static const uint32_t starts[4] = {0, 4, 2, 1}, steps[4] = {8, 8, 4, 2};
    uint32_t n = 0;
    for (int pass = 0; pass < 4; pass++)
        for (uint32_t y = starts[pass]; y < f->h; y += steps[pass])
            rows[n++] = y;
}

static void
draw(const Frame *f, const uint8_t *indices, uint32_t *canvas, uint32_t width, uint32_t *rows)
{
    row_order(f, rows);
    for (uint32_t i = 0; i < f->h; i++) {
        const uint8_t *from = indices + (size_t) i * f->w;
        uint32_t *to = canvas + (size_t) (f->y + rows[i]) * width + f->x;
        if (f->see_through < 0) {
            for (uint32_t x = 0; x < f->w; x++)
                to[x] = f->colours[from[x]];
        } else {
            const uint8_t hidden = (uint8_t) f->see_through;
            for (uint32_t x = 0; x < f->w; x++)
                if (from[x] != hidden)
                    to[x] = f->colours[from[x]];
        }
    }
}

static void
fill_rect(const Frame *f, uint32_t *canvas, uint32_t width, uint32_t colour)
{
    for (uint32_t y = 0; y < f->h; y++) {
        uint32_t *row = canvas + (size_t) (f->y + y) * width + f->x;
        for (uint32_t x = 0; x < f->w; x++)
            row[x] = colour;
    }
}

static int
all_opaque(const uint32_t *pixels, size_t n)
{
    uint32_t all = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        all &= pixels[i];
    uint8_t bytes[4];
    memcpy(bytes, &all, 4);
    return bytes[3] == 0xff;
}

/* Whether every index the frame's code size can give is an opaque entry of its table. */
static int
table_opaque(const Frame *f, int min_size)
{
    return all_opaque(f->colours, (size_t) 1 << min_size);
}

static int
covers_canvas(const Frame *f, const Screen *s)
{
    return f->x == 0 && f->y == 0 && f->w == s->width && f->h == s->height;
}

/* The canvas once `shown` has been shown and disposed of; whether it is opaque. */
static int
dispose(const Frame *shown, const Screen *s, uint32_t *canvas, const Scratch *scratch,
    int opaque, int kept_opaque)
{
    if (shown->disposal == 3) {
        memcpy(canvas, scratch->kept, (size_t) s->width * s->height * 4);
        return kept_opaque;
    }
    if (shown->disposal != 2)
        return opaque;
    fill_rect(shown, canvas, s->width, shown->see_through_flag ? 0 : s->background);
    return opaque && !shown->see_through_flag;
}

/* The canvas's pixels into `out`, without their alpha if `bands` is 3: two pixels at a time
 * as one 64-bit number, each store of 8 bytes running 2 past the 6 it means, which the next
 * one stores over; the last two pixels one by one. `out` may be the canvas itself: every store
 * ends before the next pixels read. */
static void
emit(const uint32_t *canvas, size_t area, uint8_t *out, int bands)
{
    if (bands == 4) {
        if (out != (const uint8_t *) canvas)
            memcpy(out, canvas, area * 4);
        return;
    }
    const uint8_t *from = (const uint8_t *) canvas;
    size_t i = 0;
    for (; i + 4 <= area; i += 2) {
        uint64_t two;
        memcpy(&two, from + 4 * i, 8);
        const uint64_t colours = (two & 0xffffffu) | ((two >> 8) & 0xffffff000000u);
        memcpy(out + 3 * i, &colours, 8);
    }
    for (; i < area; i++)
        memmove(out + 3 * i, from + 4 * i, 3);
}

/* Room in `scratch->indices` for a frame of `pixels` indices after the one-index strings. */
static int
room_for(Scratch *scratch, size_t pixels)
{
    if (pixels <= scratch->room)
        return 1;
    free(scratch->indices);
    scratch->indices = malloc(ROOTS + pixels + OUT_SLACK);
    if (!scratch->indices)
        return 0;
    for (int i = 0; i < ROOTS; i++)
        scratch->indices[i] = (uint8_t) i;
    scratch->room = pixels;
    return 1;
}

/* The frames into `strip`; a single frame is drawn in the strip itself, which then has room
 * for it as RGBA whatever the layout. */
static Outcome
decode_frames(Reader *r, Screen *s, uint32_t frames, uint8_t *strip, Layout layout, int *opaque_out)
{
    const size_t area = (size_t) s->width * s->height;
    const int bands = layout == RGBA ? 4 : 3;
    Scratch *scratch = calloc(1, sizeof *scratch);
    uint32_t *rows = malloc(sizeof *rows * s->height);
    uint32_t *canvas = frames == 1 ? (uint32_t *) strip : malloc(area * 4);
    Outcome outcome = NO_MEMORY;
    if (!scratch || !rows || !canvas)
        goto out;
    scratch->codes = malloc(r->size + CHUNK);
    if (!scratch->codes)
        goto out;
    outcome = OUTSIDE;
    Frame shown = {0}, frame;
    int opaque = 0, kept_opaque = 0, every_opaque = 1;
    for (uint32_t k = 0; k < frames; k++) {
        if (!read_frame(r, s, &frame) || !available(r, 1))
            goto out;
        const int min_size = r->data[r->at++];
        if (min_size < 2 || min_size > 8)
            goto out;
        const size_t n = gather_codes(r, scratch->codes), pixels = (size_t) frame.w * frame.h;
        if (!room_for(scratch, pixels)) {
            outcome = NO_MEMORY;
            goto out;
        }
        if (!n || !lzw_decode(scratch->codes, n, min_size, scratch->indices, scratch->strings,
                pixels))
            goto out;
        const int redrawn = covers_canvas(&frame, s) && frame.see_through < 0;
        if (k == 0) {
            memset(canvas, 0, area * 4);
            opaque = 0;
        } else if (!redrawn || frame.disposal == 3) {
            opaque = dispose(&shown, s, canvas, scratch, opaque, kept_opaque);
        }
        if (frame.disposal == 3) {
            if (!scratch->kept && !(scratch->kept = malloc(area * 4))) {
                outcome = NO_MEMORY;
                goto out;
            }
            memcpy(scratch->kept, canvas, area * 4);
            kept_opaque = opaque;
        }
        draw(&frame, scratch->indices + ROOTS, canvas, s->width, rows);
        const int solid_table = table_opaque(&frame, min_size);
        if (redrawn)
            opaque = solid_table;
        if (!opaque || !solid_table)
            opaque = all_opaque(canvas, area);
        if (layout == RGB_IF_OPAQUE && !opaque) {
            outcome = SEE_THROUGH;
            goto out;
        }
        every_opaque &= opaque;
        emit(canvas, area, strip + k * area * bands, bands);
        shown = frame;
    }
    *opaque_out = every_opaque;
    outcome = DONE;
out:
    if (scratch) {
        free(scratch->codes);
        free(scratch->indices);
        free(scratch->kept);
    }
    free(scratch);
    free(rows);
    if (canvas != (uint32_t *) strip)
        free(canvas);
    return outcome;
}

/* One decode of `frames` frames into a new bytearray of `layout`'s pixels (a single frame
 * drawn in it as RGBA, then packed in place): DONE (with `*strip` and `*opaque` set), or why
 * not. */
static Outcome
decode_into(const Py_buffer *data, uint32_t width, uint32_t height, uint32_t frames,
    Layout layout, PyObject **strip, int *opaque)
{
    const size_t area = (size_t) width * height, bands = layout == RGBA ? 4 : 3;
    const size_t size = area * (frames == 1 ? 4 : frames * bands);
    *strip = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t) size);
    if (!*strip)
        return NO_MEMORY;
    Screen screen = {.width = width, .height = height};
    Reader reader = {data->buf, (size_t) data->len, 0};
    uint8_t *pixels = (uint8_t *) PyByteArray_AS_STRING(*strip);
    Outcome outcome = OUTSIDE;
    Py_BEGIN_ALLOW_THREADS
    if (read_screen(&reader, &screen))
        outcome = decode_frames(&reader, &screen, frames, pixels, layout, opaque);
    Py_END_ALLOW_THREADS
    if (outcome == DONE && frames == 1 && bands == 3
        && PyByteArray_Resize(*strip, (Py_ssize_t) (area * 3)) < 0)
        outcome = NO_MEMORY;
    if (outcome != DONE)
        Py_CLEAR(*strip);
    return outcome;
}

static PyObject *
decode(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"data", "width", "height", "frames", "layout", NULL};
    Py_buffer data;
    unsigned int width, height, frames;
    int layout = RGBA;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*III|i", keywords, &data, &width, &height,
            &frames, &layout))
        return NULL;
    PyObject *result = NULL, *strip = NULL;
    int opaque = 0;
    const size_t area = (size_t) width * height;
    if (!LITTLE_ENDIAN_HOST || !width || !height || !frames || width > 65535 || height > 65535
        || area > UINT32_MAX - ROOTS - OUT_SLACK || layout < RGBA || layout > RGB) {
        result = Py_NewRef(Py_None);
        goto out;
    }
    Outcome outcome = decode_into(&data, width, height, frames, layout, &strip, &opaque);
    if (outcome == SEE_THROUGH) {
        layout = RGBA;
        outcome = decode_into(&data, width, height, frames, layout, &strip, &opaque);
    }
    if (outcome == DONE)
        result = Py_BuildValue("(NiO)", strip, layout == RGBA ? 4 : 3,
            opaque || layout != RGBA ? Py_True : Py_False);
    else if (outcome == NO_MEMORY)
        result = PyErr_Occurred() ? NULL : PyErr_NoMemory();
    else
        result = Py_NewRef(Py_None);
out:
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef methods[] = {
    {"decode", (PyCFunction) (void (*)(void)) decode, METH_VARARGS | METH_KEYWORDS,
        "decode(data, width, height, frames, layout=0)\n--\n\n"
        "The first `frames` frames of the GIF `data`, whose canvas is `width` x `height`, as "
        "(a bytearray of frames one under the other, their bands, whether every pixel is "
        "opaque); None when the file is one this module leaves to libvips. `layout`: 0 RGBA, "
        "1 RGB if every pixel is opaque else RGBA, 2 RGB (alpha dropped)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_gifload", "GIF frames decoded into a strip of RGBA frames.", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__gifload(void)
{
    return PyModule_Create(&module);
}
