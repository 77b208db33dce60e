/* One palette of at most 256 colours for all the frames of an animation, and the frames mapped
 * to it with error diffusion.
 *
 * The palette: the sampled pixels' own colours when there are few enough, else Wu's cuts of RGB
 * space (below, before `count_pixels`).
 *
 * The mapping: each pixel takes the palette entry nearest to it in RGB (squared distance, exact;
 * of entries equally near, the first of the cell's candidates below). On first use of a 4 x 4 x
 * 4 cell of RGB space, the nearest entry to each of its 64 colours is worked out, with vectors,
 * among the cell's candidates: every entry that can be the nearest to some colour of the cell,
 * sorted by its least distance to the cell. A pixel then costs one lookup.
 *
 * The error of each pixel goes on to its neighbours with Sierra's "lite" weights: 2/4 to the
 * right, 1/4 below and 1/4 below to the left. Each share is truncated towards zero and added
 * into the neighbour's colour, clipped to 0-255: errors too small to move a share are dropped,
 * so flat areas stay flat instead of turning into noise. Two rows are mapped at once, the
 * second two pixels behind the first (`map_box`).
 *
 * After the first frame, only the rectangle around the pixels that differ from the frame
 * before is mapped again; the rest keeps the indices it had, so still parts of an animation
 * neither flicker nor cost bytes.
 *
 * Frames come as RGB or RGBA pixels. With a see-through entry, pixels whose alpha is below the
 * threshold take it and pass on no error; palette entries whose alpha is below 128 are never
 * chosen for opaque pixels.
 *
 * The work runs without Python's lock.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Coarse cells of RGB space are 16 levels wide along each channel (16 x 16 x 16 of them) and
 * hold their candidates, listed on first use; fine cells are 4 levels wide (64 x 64 x 64) and
 * hold, once made, the nearest entry to each of their 64 colours, worked out among candidates
 * picked from their coarse cell's, which hold them all: a smaller cell is nowhere nearer an
 * entry, and its farthest point from the best entry is no farther. */
#define COARSE_SHIFT 4
#define FINE_SHIFT 2
#define FINE_SIDE (1 << FINE_SHIFT)
#define FINE_COLOURS (FINE_SIDE * FINE_SIDE * FINE_SIDE)
#define CELLS_OF(shift) (1 << (3 * (8 - (shift))))
#define FINE_PER_COARSE (1 << (3 * (COARSE_SHIFT - FINE_SHIFT)))
#define NOT_LISTED (-1)
#define MAX_ENTRIES 256

typedef struct {
    int count;
    int32_t red[MAX_ENTRIES], green[MAX_ENTRIES], blue[MAX_ENTRIES];
    uint8_t index[MAX_ENTRIES];
    /* Every entry, as the candidates of the whole of RGB space. */
    uint8_t all[MAX_ENTRIES];
    /* Per coarse cell: where its candidates start in the pools, and how many (NOT_LISTED: not
     * yet). */
    int32_t *coarse_start;
    int16_t *coarse_listed;
    uint8_t *candidates;
    int32_t *candidate_red, *candidate_green, *candidate_blue;
    size_t used, capacity;
    /* Per coarse cell: the nearest entries to its colours, fine cell after fine cell (NULL:
     * none yet), and which of its 64 fine cells have them. */
    uint8_t *nearest_in[CELLS_OF(COARSE_SHIFT)];
    uint64_t filled[CELLS_OF(COARSE_SHIFT)];
} Palette;

static inline int
cell_of(int shift, int32_t r, int32_t g, int32_t b)
{
    const int bits = 8 - shift;
    return (r >> shift) << (2 * bits) | (g >> shift) << bits | (b >> shift);
}

static void
palette_delete(Palette *p)
{
    if (!p)
        return;
    free(p->candidates);
    free(p->candidate_red);
    free(p->candidate_green);
    free(p->candidate_blue);
    free(p->coarse_start);
    free(p->coarse_listed);
    for (int i = 0; i < CELLS_OF(COARSE_SHIFT); i++)
        free(p->nearest_in[i]);
    free(p);
}

/* The opaque entries (alpha 128 or more) of `entries` RGBA colours, ready for `nearest`; NULL
 * when out of memory. */
static Palette *
palette_new(const uint8_t *rgba, int entries)
{
    Palette *p = calloc(1, sizeof(Palette));
    if (!p)
        return NULL;
    for (int i = 0; i < entries; i++) {
        if (rgba[i * 4 + 3] < 128)
            continue;
        p->red[p->count] = rgba[i * 4];
        p->green[p->count] = rgba[i * 4 + 1];
        p->blue[p->count] = rgba[i * 4 + 2];
        p->index[p->count] = (uint8_t) i;
        p->count++;
    }
    for (int i = 0; i < MAX_ENTRIES; i++)
        p->all[i] = (uint8_t) i;
    const int coarse = CELLS_OF(COARSE_SHIFT);
    p->capacity = (size_t) 64 * MAX_ENTRIES;
    p->candidates = malloc(p->capacity);
    p->candidate_red = malloc(p->capacity * sizeof(int32_t));
    p->candidate_green = malloc(p->capacity * sizeof(int32_t));
    p->candidate_blue = malloc(p->capacity * sizeof(int32_t));
    p->coarse_start = malloc(sizeof(int32_t) * coarse);
    p->coarse_listed = malloc(sizeof(int16_t) * coarse);
    if (!p->candidates || !p->candidate_red || !p->candidate_green || !p->candidate_blue ||
        !p->coarse_start || !p->coarse_listed) {
        palette_delete(p);
        return NULL;
    }
    for (int i = 0; i < coarse; i++)
        p->coarse_listed[i] = NOT_LISTED;
    return p;
}

static inline int32_t
larger(int32_t a, int32_t b)
{
    return a > b ? a : b;
}

/* Squared distances from `value` to the nearest and the farthest level of [low, low + last]. */
static inline int32_t
near_gap(int32_t value, int32_t low, int32_t last)
{
    int32_t gap = larger(0, larger(low - value, value - low - last));
    return gap * gap;
}

static inline int32_t
far_gap(int32_t value, int32_t low, int32_t last)
{
    int32_t gap = larger(value - low, low + last - value);
    return gap * gap;
}

/* Lists into `found` the candidates, among the `n` entries of `from` (colours `red`, `green`
 * and `blue`), of the cell `side` levels wide along each channel whose lowest colour is (r, g,
 * b): every entry whose least distance to the cell is no more than the smallest greatest
 * distance of any, sorted by least distance. Returns how many. */
__attribute__((target_clones("avx2", "default"))) static int
list_cell(const int32_t *red, const int32_t *green, const int32_t *blue, const uint8_t *from,
    int n, int32_t r, int32_t g, int32_t b, int side, uint8_t *found)
{
    const int last = side - 1;
    int32_t least[MAX_ENTRIES], most[MAX_ENTRIES], found_least[MAX_ENTRIES];
    int32_t bound = INT32_MAX;

    for (int k = 0; k < n; k++) {
        least[k] = near_gap(red[k], r, last) + near_gap(green[k], g, last) +
            near_gap(blue[k], b, last);
        most[k] = far_gap(red[k], r, last) + far_gap(green[k], g, last) +
            far_gap(blue[k], b, last);
    }
    for (int k = 0; k < n; k++)
        bound = most[k] < bound ? most[k] : bound;
    int listed = 0;
    for (int k = 0; k < n; k++) {
        if (least[k] > bound)
            continue;
        int at = listed++;
        while (at > 0 && found_least[at - 1] > least[k]) {
            found_least[at] = found_least[at - 1];
            found[at] = found[at - 1];
            at--;
        }
        found_least[at] = least[k];
        found[at] = from[k];
    }
    return listed;
}

/* Room in the pools for one more coarse cell's candidates; 0 when out of memory. */
static int
reserve(Palette *p)
{
    if (p->used + MAX_ENTRIES <= p->capacity)
        return 1;
    p->capacity *= 2;
    uint8_t *candidates = realloc(p->candidates, p->capacity);
    if (candidates)
        p->candidates = candidates;
    int32_t **colours[] = {&p->candidate_red, &p->candidate_green, &p->candidate_blue};
    int grown = candidates != NULL;
    for (int c = 0; c < 3; c++) {
        int32_t *more = realloc(*colours[c], p->capacity * sizeof(int32_t));
        if (more)
            *colours[c] = more;
        grown = grown && more;
    }
    return grown;
}

/* Where the candidates of the coarse cell of (r, g, b) start in the pools, listed if not yet;
 * -1 when out of memory. */
static int32_t
coarse_candidates(Palette *p, int32_t r, int32_t g, int32_t b)
{
    const int cell = cell_of(COARSE_SHIFT, r, g, b);
    if (p->coarse_listed[cell] != NOT_LISTED)
        return p->coarse_start[cell];
    if (!reserve(p))
        return -1;
    const int mask = ~((1 << COARSE_SHIFT) - 1);
    const size_t start = p->used;
    const int listed = list_cell(p->red, p->green, p->blue, p->all, p->count, r & mask, g & mask,
        b & mask, 1 << COARSE_SHIFT, p->candidates + start);
    for (int k = 0; k < listed; k++) {
        const int i = p->candidates[start + k];
        p->candidate_red[start + k] = p->red[i];
        p->candidate_green[start + k] = p->green[i];
        p->candidate_blue[start + k] = p->blue[i];
    }
    p->coarse_start[cell] = (int32_t) start;
    p->coarse_listed[cell] = (int16_t) listed;
    p->used += listed;
    return (int32_t) start;
}

static inline int32_t
square(int32_t v)
{
    return v * v;
}

/* Works out the nearest entry to each colour of the fine cell `fine` of the coarse cell
 * `coarse`, whose lowest colour is (r, g, b): the first of its candidates, in their order, at the
 * least squared distance. 0 when out of memory. */
__attribute__((target_clones("avx2", "default"))) static int
fill_fine(Palette *p, int coarse, int fine, int32_t r, int32_t g, int32_t b)
{
    const int32_t start = coarse_candidates(p, r, g, b);
    if (start < 0)
        return 0;
    if (!p->nearest_in[coarse])
        p->nearest_in[coarse] = malloc(FINE_PER_COARSE * FINE_COLOURS);
    if (!p->nearest_in[coarse])
        return 0;
    uint8_t found[MAX_ENTRIES];
    int32_t best[FINE_COLOURS], chosen[FINE_COLOURS];
    const int n = list_cell(p->candidate_red + start, p->candidate_green + start,
        p->candidate_blue + start, p->candidates + start, p->coarse_listed[coarse], r, g, b,
        FINE_SIDE, found);
    for (int c = 0; c < FINE_COLOURS; c++)
        best[c] = INT32_MAX;
    for (int k = 0; k < n; k++) {
        const int i = found[k];
        int32_t green_blue[FINE_SIDE * FINE_SIDE];
        for (int c = 0; c < FINE_SIDE * FINE_SIDE; c++)
            green_blue[c] = square(p->green[i] - g - (c >> FINE_SHIFT)) +
                square(p->blue[i] - b - (c & (FINE_SIDE - 1)));
        for (int d = 0; d < FINE_SIDE; d++) {
            const int32_t red = square(p->red[i] - r - d);
            int32_t *best_of = best + d * FINE_SIDE * FINE_SIDE;
            int32_t *chosen_of = chosen + d * FINE_SIDE * FINE_SIDE;
            for (int c = 0; c < FINE_SIDE * FINE_SIDE; c++) {
                const int32_t distance = red + green_blue[c];
                chosen_of[c] = distance < best_of[c] ? i : chosen_of[c];
                best_of[c] = distance < best_of[c] ? distance : best_of[c];
            }
        }
    }
    uint8_t *nearest = p->nearest_in[coarse] + fine * FINE_COLOURS;
    for (int c = 0; c < FINE_COLOURS; c++)
        nearest[c] = (uint8_t) chosen[c];
    p->filled[coarse] |= (uint64_t) 1 << fine;
    return 1;
}

/* The position in `p` of the entry nearest to (r, g, b); -1 when out of memory. */
static inline int
nearest(Palette *p, int32_t r, int32_t g, int32_t b)
{
    const int coarse = cell_of(COARSE_SHIFT, r, g, b), side = FINE_SIDE - 1,
              steps = (1 << (COARSE_SHIFT - FINE_SHIFT)) - 1, per = COARSE_SHIFT - FINE_SHIFT;
    const int fine = (r >> FINE_SHIFT & steps) << (2 * per) | (g >> FINE_SHIFT & steps) << per |
        (b >> FINE_SHIFT & steps);
    const int filled = p->filled[coarse] >> fine & 1;
    if (!filled && !fill_fine(p, coarse, fine, r & ~side, g & ~side, b & ~side))
        return -1;
    const int within = (r & side) << (2 * FINE_SHIFT) | (g & side) << FINE_SHIFT | (b & side);
    return p->nearest_in[coarse][fine * FINE_COLOURS + within];
}

static inline int32_t
clipped(int32_t v)
{
    return v < 0 ? 0 : v > 255 ? 255 : v;
}

typedef struct {
    int left, top, right, bottom;
} Box;

typedef enum { MAPPED, NO_MEMORY, NO_OPAQUE_ENTRY } Outcome;

/* The rectangle around the pixels that differ between two frames of `bands` bands; empty if
 * none. */
static Box
changed(const uint8_t *before, const uint8_t *after, int width, int height, int bands)
{
    Box box = {width, height, 0, 0};
    const size_t row_bytes = (size_t) width * bands;
    for (int y = 0; y < height; y++) {
        const uint8_t *a = before + y * row_bytes, *b = after + y * row_bytes;
        if (!memcmp(a, b, row_bytes))
            continue;
        size_t first = 0, last = row_bytes - 1;
        while (a[first] == b[first])
            first++;
        while (a[last] == b[last])
            last--;
        const int left = (int) (first / bands), right = (int) (last / bands) + 1;
        box.left = left < box.left ? left : box.left;
        box.right = right > box.right ? right : box.right;
        box.top = y < box.top ? y : box.top;
        box.bottom = y + 1;
    }
    return box;
}

/* Copies row `y` of `frame` (`bands` bands) within `box` into `row` (RGB ints, one padding
 * pixel each side). */
static void
load_row(int32_t *row, const uint8_t *frame, int width, int bands, int y, Box box)
{
    const uint8_t *pixel = frame + ((size_t) y * width + box.left) * bands;
    for (int x = 0; x < box.right - box.left; x++, pixel += bands) {
        row[x * 3] = pixel[0];
        row[x * 3 + 1] = pixel[1];
        row[x * 3 + 2] = pixel[2];
    }
}

/* Where one row of a box is mapped: its pixels (RGB ints, `here`), the row below them, which takes
 * part of their error, their alpha (every fourth byte; see-through only) and their indices. */
typedef struct {
    int32_t *here, *below;
    const uint8_t *alpha;
    uint8_t *indices;
} Row;

static Row
row_of(int32_t *here, int32_t *below, const uint8_t *frame, uint8_t *out, int width, int bands,
    int y, Box box)
{
    const size_t at = (size_t) y * width + box.left;
    return (Row) {here, below, frame + at * bands + 3, out + at};
}

/* Maps pixel `x` of `row` and passes its error on. */
static inline Outcome
map_pixel(Palette *p, Row row, int x, int see_through, int see_through_below)
{
    if (see_through >= 0 && row.alpha[x * 4] < see_through_below) {
        row.indices[x] = (uint8_t) see_through;
        return MAPPED;
    }
    if (!p->count)
        return NO_OPAQUE_ENTRY;
    int32_t *px = row.here + x * 3, *dn = row.below + x * 3;
    const int i = nearest(p, px[0], px[1], px[2]);
    if (i < 0)
        return NO_MEMORY;
    row.indices[x] = p->index[i];
    const int32_t er = px[0] - p->red[i], eg = px[1] - p->green[i], eb = px[2] - p->blue[i];
    px[3] = clipped(px[3] + er / 2);
    px[4] = clipped(px[4] + eg / 2);
    px[5] = clipped(px[5] + eb / 2);
    dn[-3] = clipped(dn[-3] + er / 4);
    dn[-2] = clipped(dn[-2] + eg / 4);
    dn[-1] = clipped(dn[-1] + eb / 4);
    dn[0] = clipped(dn[0] + er / 4);
    dn[1] = clipped(dn[1] + eg / 4);
    dn[2] = clipped(dn[2] + eb / 4);
    return MAPPED;
}

/* Maps `box` of one frame of `bands` bands (a see-through entry needs 4) into `out`; `rows`
 * holds three rows of (width + 2) RGB ints.
 *
 * Rows go in pairs, the second two pixels behind the first: by then every share of error that
 * reaches one of its pixels from the row above has arrived, in the order it would one row at a
 * time, and the two rows' chains of work, each pixel waiting on the one before, overlap. */
static Outcome
map_box(Palette *p, const uint8_t *frame, int width, int bands, Box box, uint8_t *out,
    int see_through, int see_through_below, int32_t *rows)
{
    const int span = box.right - box.left, last = box.bottom - 1;
    const size_t stride = ((size_t) span + 2) * 3;
    int32_t *first = rows + 3, *second = first + stride, *third = second + stride;
    Outcome outcome = MAPPED;
    load_row(first, frame, width, bands, box.top, box);
    int y = box.top;
    for (; y < last && outcome == MAPPED; y += 2) {
        load_row(second, frame, width, bands, y + 1, box);
        load_row(third, frame, width, bands, y + 2 <= last ? y + 2 : y + 1, box);
        const Row upper = row_of(first, second, frame, out, width, bands, y, box);
        const Row lower = row_of(second, third, frame, out, width, bands, y + 1, box);
        for (int x = 0; x < span + 2 && outcome == MAPPED; x++) {
            if (x < span)
                outcome = map_pixel(p, upper, x, see_through, see_through_below);
            if (x >= 2 && outcome == MAPPED)
                outcome = map_pixel(p, lower, x - 2, see_through, see_through_below);
        }
        int32_t *done = first;
        first = third;
        third = done;
    }
    if (y == last && outcome == MAPPED) {
        load_row(second, frame, width, bands, y, box);
        const Row only = row_of(first, second, frame, out, width, bands, y, box);
        for (int x = 0; x < span && outcome == MAPPED; x++)
            outcome = map_pixel(p, only, x, see_through, see_through_below);
    }
    return outcome;
}

static Outcome
map_all(const uint8_t *pixels, int width, int height, int count, int bands,
    const uint8_t *palette, int entries, int see_through, int see_through_below, uint8_t *out)
{
    const size_t frame_pixels = (size_t) width * height, frame_bytes = frame_pixels * bands;
    Palette *p = palette_new(palette, entries);
    int32_t *rows = malloc(sizeof(int32_t) * 3 * ((size_t) width + 2) * 3);
    Outcome outcome = p && rows ? MAPPED : NO_MEMORY;
    for (int f = 0; outcome == MAPPED && f < count; f++) {
        const uint8_t *frame = pixels + f * frame_bytes;
        uint8_t *indices = out + f * frame_pixels;
        Box box = {0, 0, width, height};
        if (f > 0) {
            memcpy(indices, indices - frame_pixels, frame_pixels);
            box = changed(frame - frame_bytes, frame, width, height, bands);
        }
        if (box.right > box.left)
            outcome = map_box(
                p, frame, width, bands, box, indices, see_through, see_through_below, rows);
    }
    palette_delete(p);
    free(rows);
    return outcome;
}

/* 3 or 4 when `length` bytes hold `frames` frames of `width` x `height` RGB or RGBA pixels; 0
 * otherwise. */
static int
bands_of(Py_ssize_t length, int width, int height, int frames)
{
    if (width <= 0 || height <= 0 || frames <= 0 ||
        (Py_ssize_t) width * height > PY_SSIZE_T_MAX / 4 / frames)
        return 0;
    const Py_ssize_t pixels = (Py_ssize_t) width * height * frames;
    return length == pixels * 3 ? 3 : length == pixels * 4 ? 4 : 0;
}

#define NOT_FRAMES "pixels must hold count frames of width x height RGB or RGBA"

/* Why frames of `bands` bands cannot be mapped to `palette_bytes` of RGBA entries with the
 * `see_through` entry (-1: none); NULL when they can. */
static const char *
mapping_refused(int bands, Py_ssize_t palette_bytes, int see_through)
{
    if (!bands)
        return NOT_FRAMES;
    if (palette_bytes % 4 || palette_bytes == 0 || palette_bytes > MAX_ENTRIES * 4)
        return "palette must hold 1-256 RGBA entries";
    if (see_through >= palette_bytes / 4)
        return "see_through must be an entry of the palette";
    if (see_through >= 0 && bands != 4)
        return "a see_through entry needs RGBA pixels";
    return NULL;
}

static PyObject *
map_frames(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"pixels", "width", "height", "count", "palette", "see_through",
        "see_through_below", NULL};
    Py_buffer pixels, palette;
    int width, height, count, see_through = -1, see_through_below = 128;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*iiiy*|ii", keywords, &pixels, &width,
            &height, &count, &palette, &see_through, &see_through_below))
        return NULL;
    PyObject *result = NULL;
    const int bands = bands_of(pixels.len, width, height, count);
    const char *refused = mapping_refused(bands, palette.len, see_through);
    if (refused)
        PyErr_SetString(PyExc_ValueError, refused);
    else if ((result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t) width * height * count))) {
        Outcome outcome;
        Py_BEGIN_ALLOW_THREADS
        outcome = map_all(pixels.buf, width, height, count, bands, palette.buf,
            (int) (palette.len / 4), see_through, see_through_below,
            (uint8_t *) PyBytes_AS_STRING(result));
        Py_END_ALLOW_THREADS
        if (outcome == NO_MEMORY)
            PyErr_NoMemory();
        else if (outcome == NO_OPAQUE_ENTRY)
            PyErr_SetString(PyExc_ValueError, "opaque pixels need an opaque palette entry");
        if (outcome != MAPPED)
            Py_CLEAR(result);
    }
    PyBuffer_Release(&pixels);
    PyBuffer_Release(&palette);
    return result;
}


/* Choosing the palette: the colours of the sampled pixels themselves when there are few enough,
 * else Wu's variance-minimising cuts of RGB space. Pixels are counted in a histogram of 32
 * levels per channel holding, per bin, the count and the sums of each channel and of their
 * squares; summed over every box from the origin, so that a box's sums take eight lookups. The
 * box whose colours vary most (the sum of squared distances to their mean) is cut next, along
 * the channel and at the level that leave its two halves varying least; each box gives its mean
 * colour, and each colour then moves to the mean of the pixels nearest to it. */

#define LEVELS 33 /* 32 levels per channel, and a zero plane for sums from the origin */
#define BINS (LEVELS * LEVELS * LEVELS)
#define AT(r, g, b) (((r) * LEVELS + (g)) * LEVELS + (b))

typedef struct {
    double count[BINS], red[BINS], green[BINS], blue[BINS], squares[BINS];
} Moments;

typedef struct {
    int low[3], high[3]; /* levels low (excluded) to high (included) along R, G and B */
} Cut;

typedef struct {
    double count, red, green, blue, squares;
} Sums;

static double
corner_sum(const double *m, const Cut *c)
{
    const int r0 = c->low[0], r1 = c->high[0], g0 = c->low[1], g1 = c->high[1],
              b0 = c->low[2], b1 = c->high[2];
    return m[AT(r1, g1, b1)] - m[AT(r1, g1, b0)] - m[AT(r1, g0, b1)] + m[AT(r1, g0, b0)] -
        m[AT(r0, g1, b1)] + m[AT(r0, g1, b0)] + m[AT(r0, g0, b1)] - m[AT(r0, g0, b0)];
}

static Sums
sums_of(const Moments *m, const Cut *c)
{
    Sums s = {corner_sum(m->count, c), corner_sum(m->red, c), corner_sum(m->green, c),
        corner_sum(m->blue, c), corner_sum(m->squares, c)};
    return s;
}

static double
spread(const Sums *s)
{
    if (s->count <= 0)
        return 0;
    return s->squares - (s->red * s->red + s->green * s->green + s->blue * s->blue) / s->count;
}

static double
weight_of_split(const Sums *s)
{
    return (s->red * s->red + s->green * s->green + s->blue * s->blue) / s->count;
}

/* Cuts `box` in two where the halves vary least; 0 when no cut leaves both halves pixels. */
static int
split(const Moments *m, Cut *box, Cut *other)
{
    const Sums whole = sums_of(m, box);
    double best = -1;
    int best_axis = -1, best_at = 0;
    for (int axis = 0; axis < 3; axis++) {
        for (int at = box->low[axis] + 1; at < box->high[axis]; at++) {
            Cut half = *box;
            half.high[axis] = at;
            const Sums lower = sums_of(m, &half);
            const Sums upper = {whole.count - lower.count, whole.red - lower.red,
                whole.green - lower.green, whole.blue - lower.blue, 0};
            if (lower.count <= 0 || upper.count <= 0)
                continue;
            const double score = weight_of_split(&lower) + weight_of_split(&upper);
            if (score > best) {
                best = score;
                best_axis = axis;
                best_at = at;
            }
        }
    }
    if (best_axis < 0)
        return 0;
    *other = *box;
    box->high[best_axis] = best_at;
    other->low[best_axis] = best_at;
    return 1;
}

static int
cells_of(const Cut *c)
{
    return (c->high[0] - c->low[0]) * (c->high[1] - c->low[1]) * (c->high[2] - c->low[2]);
}

/* The pixels a palette is counted over, as RGB. */
typedef struct {
    uint8_t *rgb;
    size_t count;
} Sample;

/* Every `step`th pixel of every `step`th row of each frame (`bands` bands) whose alpha, if it
 * has one, is at least `opaque_from`; its `rgb` is NULL when out of memory. */
static Sample
sample_pixels(const uint8_t *pixels, int width, int height, int count, int bands, int step,
    int opaque_from)
{
    const size_t most = (size_t) count * ((height + step - 1) / step) * ((width + step - 1) / step);
    Sample sample = {malloc(most * 3 + 1), 0};
    if (!sample.rgb)
        return sample;
    for (int f = 0; f < count; f++) {
        for (int y = 0; y < height; y += step) {
            const uint8_t *px = pixels + (((size_t) f * height + y) * width) * bands;
            for (int x = 0; x < width; x += step, px += bands * step) {
                if (bands == 4 && px[3] < opaque_from)
                    continue;
                memcpy(sample.rgb + sample.count * 3, px, 3);
                sample.count++;
            }
        }
    }
    return sample;
}

/* Adds the pixels of `sample` to `m`, then sums the bins from the origin. */
static void
count_pixels(Moments *m, const Sample *sample)
{
    for (size_t i = 0; i < sample->count; i++) {
        const uint8_t *px = sample->rgb + i * 3;
        const int at = AT((px[0] >> 3) + 1, (px[1] >> 3) + 1, (px[2] >> 3) + 1);
        m->count[at] += 1;
        m->red[at] += px[0];
        m->green[at] += px[1];
        m->blue[at] += px[2];
        m->squares[at] += px[0] * px[0] + px[1] * px[1] + px[2] * px[2];
    }
    double *planes[5] = {m->count, m->red, m->green, m->blue, m->squares};
    for (int k = 0; k < 5; k++) {
        double *v = planes[k];
        for (int r = 1; r < LEVELS; r++)
            for (int g = 0; g < LEVELS; g++)
                for (int b = 0; b < LEVELS; b++)
                    v[AT(r, g, b)] += v[AT(r - 1, g, b)];
        for (int r = 0; r < LEVELS; r++)
            for (int g = 1; g < LEVELS; g++)
                for (int b = 0; b < LEVELS; b++)
                    v[AT(r, g, b)] += v[AT(r, g - 1, b)];
        for (int r = 0; r < LEVELS; r++)
            for (int g = 0; g < LEVELS; g++)
                for (int b = 1; b < LEVELS; b++)
                    v[AT(r, g, b)] += v[AT(r, g, b - 1)];
    }
}

/* Up to `wanted` boxes of `m`, each writing its mean colour as an RGB entry; their number. */
static int
wu_colours(const Moments *m, int wanted, uint8_t *out)
{
    Cut boxes[MAX_ENTRIES];
    double varies[MAX_ENTRIES];
    int made = 1;
    boxes[0] = (Cut) {{0, 0, 0}, {LEVELS - 1, LEVELS - 1, LEVELS - 1}};
    Sums all = sums_of(m, &boxes[0]);
    varies[0] = cells_of(&boxes[0]) > 1 ? spread(&all) : 0;
    while (made < wanted) {
        int next = 0;
        for (int i = 1; i < made; i++)
            next = varies[i] > varies[next] ? i : next;
        if (varies[next] <= 0)
            break;
        if (!split(m, &boxes[next], &boxes[made])) {
            varies[next] = 0;
            continue;
        }
        Sums a = sums_of(m, &boxes[next]), b = sums_of(m, &boxes[made]);
        varies[next] = cells_of(&boxes[next]) > 1 ? spread(&a) : 0;
        varies[made] = cells_of(&boxes[made]) > 1 ? spread(&b) : 0;
        made++;
    }
    int n = 0;
    for (int i = 0; i < made; i++) {
        Sums s = sums_of(m, &boxes[i]);
        if (s.count <= 0)
            continue;
        out[n * 3] = (uint8_t) (s.red / s.count + 0.5);
        out[n * 3 + 1] = (uint8_t) (s.green / s.count + 0.5);
        out[n * 3 + 2] = (uint8_t) (s.blue / s.count + 0.5);
        n++;
    }
    return n;
}

/* The distinct colours of `sample` into `out` (RGB) if there are at most `wanted`; their number,
 * or -1 when there are more. */
static int
exact_colours(const Sample *sample, int wanted, uint8_t *out)
{
    enum { SLOTS = 1024 };
    uint32_t seen[SLOTS] = {0};
    int n = 0;
    for (size_t i = 0; i < sample->count; i++) {
        const uint8_t *px = sample->rgb + i * 3;
        const uint32_t key = ((uint32_t) px[0] << 16 | px[1] << 8 | px[2]) + 1;
        uint32_t slot = (key * 2654435761u) >> 22;
        while (seen[slot] && seen[slot] != key)
            slot = (slot + 1) % SLOTS;
        if (seen[slot])
            continue;
        if (n == wanted)
            return -1;
        seen[slot] = key;
        memcpy(out + n * 3, px, 3);
        n++;
    }
    return n;
}

/* Moves each of the `n` RGB entries to the mean of the pixels of `sample` nearest to it: one
 * step of Lloyd's, which on photographs gains a third of a decibel over the cuts alone. 0 when
 * out of memory. */
static int
centre_colours(const Sample *sample, int n, uint8_t *colours)
{
    uint8_t rgba[MAX_ENTRIES * 4];
    double sums[MAX_ENTRIES][4] = {{0}};
    for (int i = 0; i < n; i++) {
        memcpy(rgba + i * 4, colours + i * 3, 3);
        rgba[i * 4 + 3] = 255;
    }
    Palette *p = palette_new(rgba, n);
    int ok = p != NULL;
    for (size_t k = 0; ok && k < sample->count; k++) {
        const uint8_t *px = sample->rgb + k * 3;
        const int i = nearest(p, px[0], px[1], px[2]);
        if (i < 0) {
            ok = 0;
            break;
        }
        sums[i][0] += 1;
        sums[i][1] += px[0];
        sums[i][2] += px[1];
        sums[i][3] += px[2];
    }
    palette_delete(p);
    for (int i = 0; ok && i < n; i++) {
        if (sums[i][0] <= 0)
            continue;
        for (int c = 0; c < 3; c++)
            colours[i * 3 + c] = (uint8_t) (sums[i][c + 1] / sums[i][0] + 0.5);
    }
    return ok;
}

/* Up to `wanted` RGB entries for `sample` into `out`: its own colours when there are no more,
 * else Wu's cuts centred by one step of Lloyd's. Their number, or -1 when out of memory. */
static int
palette_for(const Sample *sample, int wanted, uint8_t *out)
{
    int n = exact_colours(sample, wanted, out);
    if (n >= 0)
        return n;
    Moments *m = calloc(1, sizeof(Moments));
    if (!m)
        return -1;
    count_pixels(m, sample);
    n = wu_colours(m, wanted, out);
    free(m);
    return centre_colours(sample, n, out) ? n : -1;
}

static PyObject *
choose_palette(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"pixels", "width", "height", "count", "step", "colours",
        "opaque_from", NULL};
    Py_buffer pixels;
    int width, height, count, step, colours, opaque_from;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*iiiiii", keywords, &pixels, &width,
            &height, &count, &step, &colours, &opaque_from))
        return NULL;
    PyObject *result = NULL;
    const int bands = bands_of(pixels.len, width, height, count);
    if (!bands)
        PyErr_SetString(PyExc_ValueError, NOT_FRAMES);
    else if (step < 1 || colours < 1 || colours > MAX_ENTRIES)
        PyErr_SetString(PyExc_ValueError, "step must be 1 or more, colours 1-256");
    else {
        uint8_t chosen[MAX_ENTRIES * 3];
        int n = -1;
        Py_BEGIN_ALLOW_THREADS
        Sample sample =
            sample_pixels(pixels.buf, width, height, count, bands, step, opaque_from);
        if (sample.rgb)
            n = palette_for(&sample, colours, chosen);
        free(sample.rgb);
        Py_END_ALLOW_THREADS
        if (n < 0)
            PyErr_NoMemory();
        else
            result = PyBytes_FromStringAndSize((const char *) chosen, (Py_ssize_t) n * 3);
    }
    PyBuffer_Release(&pixels);
    return result;
}

static PyMethodDef methods[] = {
    {"map_frames", (PyCFunction) (void (*)(void)) map_frames, METH_VARARGS | METH_KEYWORDS,
        "map_frames(pixels, width, height, count, palette, see_through=-1, "
        "see_through_below=128)\n--\n\n"
        "The palette indices of `count` RGB or RGBA frames of `width` x `height`, mapped to "
        "`palette` (RGBA entries) with error diffusion; with a `see_through` entry, RGBA "
        "pixels whose alpha is below `see_through_below` take it."},
    {"choose_palette", (PyCFunction) (void (*)(void)) choose_palette, METH_VARARGS | METH_KEYWORDS,
        "choose_palette(pixels, width, height, count, step, colours, opaque_from)\n--\n\n"
        "Up to `colours` RGB entries for the `count` RGB or RGBA frames of `width` x `height`, "
        "counted over every `step`th pixel of every `step`th row whose alpha, if any, is at "
        "least `opaque_from`: their own colours when there are no more, else Wu's cuts, each "
        "entry then moved to the mean of the pixels nearest to it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_palette",
    "One palette for the frames of an animation, and the frames mapped to it.", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__palette(void)
{
    return PyModule_Create(&module);
}
