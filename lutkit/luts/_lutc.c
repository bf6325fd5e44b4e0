/*
 * lutkit's LUT kernels in C: tetrahedral / trilinear 3D LUTs and 1D LUTs over uint8,
 * uint16 and float32 pixels, split over threads with the GIL released.
 *
 * The Python side (lutkit/luts/apply.py) checks shapes, dtypes and contiguity and
 * passes plain buffers; nothing here allocates. Tables are float32, a 3D table is
 * laid out [r][g][b][3] (blue fastest, unlike the .cube text where red changes
 * fastest). Integer input is positioned through per-channel lookup tables (offset of
 * the lower lattice point, already multiplied by the stride, and the fraction), so
 * the per-pixel work is the interpolation alone.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

enum { T_U8 = 0, T_U16 = 1, T_F32 = 2, T_DENSE = 3 };

typedef struct {
    const void *src;
    void *out;
    int64_t start, end;
    const float *table;
    int n;               /* lattice size per side (3D) or entries (1D) */
    const int32_t *offs; /* integer input: [3][levels] lattice offsets */
    const float *fracs;  /* integer input: [3][levels] fractions */
    int levels;
    float lo[3], scale[3]; /* float input: x = (v - lo) * scale, scale = (n-1)/span */
    float in_scale;        /* 1D: integer -> [0, 1] */
    float out_max;         /* 0: float output */
    int tetra;
    int in_type;
    int is_1d;
} job_t;

static inline void position(float v, float lo, float scale, int nm1, int *i, float *f)
{
    float x = (v - lo) * scale;
    if (!(x > 0.0f)) { /* also NaN */
        *i = 0;
        *f = 0.0f;
        return;
    }
    if (x >= (float)nm1) {
        *i = nm1 - 1;
        *f = 1.0f;
        return;
    }
    int k = (int)x;
    if (k > nm1 - 1)
        k = nm1 - 1;
    *i = k;
    *f = x - (float)k;
}

static inline void interp3(const float *t, int64_t base, float fr, float fg, float fb,
                           int64_t sr, int64_t sg, int tetra, float *res)
{
    const int64_t sb = 3;
    if (tetra) {
        /* Sort the fractions (largest first), carrying each axis's stride: the cell
         * is split into six tetrahedra and the sorted order picks one. Compare-and-swap
         * compiles to conditional moves, so there is no unpredictable branch; on ties the
         * vertex that differs gets weight 0, so any order gives the same result. */
        float f1 = fr, f2 = fg, f3 = fb, ft;
        int64_t s1 = sr, s2 = sg, s3 = sb, st;
        if (f1 < f2) { ft = f1; f1 = f2; f2 = ft; st = s1; s1 = s2; s2 = st; }
        if (f2 < f3) { ft = f2; f2 = f3; f3 = ft; st = s2; s2 = s3; s3 = st; }
        if (f1 < f2) { ft = f1; f1 = f2; f2 = ft; st = s1; s1 = s2; s2 = st; }
        const int64_t o1 = s1, o2 = s1 + s2;
        const float w0 = 1.0f - f1, w1 = f1 - f2, w2 = f2 - f3, w3 = f3;
        const float *p0 = t + base, *p1 = p0 + o1, *p2 = p0 + o2, *p3 = p0 + sr + sg + sb;
        for (int c = 0; c < 3; c++)
            res[c] = w0 * p0[c] + w1 * p1[c] + w2 * p2[c] + w3 * p3[c];
    } else {
        const float *p = t + base;
        for (int c = 0; c < 3; c++) {
            float c00 = p[c] + (p[sb + c] - p[c]) * fb;
            float c01 = p[sg + c] + (p[sg + sb + c] - p[sg + c]) * fb;
            float c10 = p[sr + c] + (p[sr + sb + c] - p[sr + c]) * fb;
            float c11 = p[sr + sg + c] + (p[sr + sg + sb + c] - p[sr + sg + c]) * fb;
            float c0 = c00 + (c01 - c00) * fg;
            float c1 = c10 + (c11 - c10) * fg;
            res[c] = c0 + (c1 - c0) * fr;
        }
    }
}

static inline float quantise(float v, float out_max)
{
    v = v * out_max + 0.5f;
    if (!(v > 0.0f))
        return 0.0f;
    return v > out_max ? out_max : v;
}

#define STORE(OUT_T)                                                     \
    do {                                                                 \
        OUT_T *o = (OUT_T *)j->out + i * 3;                              \
        for (int c = 0; c < 3; c++)                                      \
            o[c] = (OUT_T)quantise(res[c], j->out_max);                  \
    } while (0)

/* 3D, integer input (or every 8-bit colour, for the dense table). */
#define LOOP_INT3(IN_T, OUT_T, DENSE)                                                 \
    for (int64_t i = j->start; i < j->end; i++) {                                     \
        int r, g, b;                                                                  \
        if (DENSE) {                                                                  \
            r = (int)(i >> 16); g = (int)((i >> 8) & 255); b = (int)(i & 255);        \
        } else {                                                                      \
            const IN_T *s = (const IN_T *)j->src + i * 3;                             \
            r = s[0]; g = s[1]; b = s[2];                                             \
        }                                                                             \
        int64_t base = (int64_t)offs[r] + offs[L + g] + offs[2 * L + b];              \
        interp3(j->table, base, fr_[r], fr_[L + g], fr_[2 * L + b], sr, sg, j->tetra, \
                res);                                                                 \
        STORE(OUT_T);                                                                 \
    }

/* 8-bit input: photos repeat colours locally (skies, walls, shadows), so a small
 * direct-mapped cache of recent colour -> result pairs (per thread, 4096 entries,
 * 28 KB: stays in L1/L2) skips the interpolation for repeats. Results are identical:
 * the cache only remembers what the kernel computed. */
#define CACHE_BITS 12
static void run3d_u8_cached(const job_t *j, int64_t sr, int64_t sg)
{
    uint32_t keys[1 << CACHE_BITS];
    uint8_t vals[(1 << CACHE_BITS) * 3];
    memset(keys, 0xff, sizeof keys); /* no 24-bit colour is 0xffffffff */
    const int32_t *offs = j->offs;
    const float *fr_ = j->fracs;
    const int L = j->levels;
    float res[3];
    for (int64_t i = j->start; i < j->end; i++) {
        const uint8_t *s = (const uint8_t *)j->src + i * 3;
        uint8_t *o = (uint8_t *)j->out + i * 3;
        const uint32_t key = ((uint32_t)s[0] << 16) | ((uint32_t)s[1] << 8) | s[2];
        const uint32_t slot = (key * 2654435761u) >> (32 - CACHE_BITS);
        uint8_t *v = vals + slot * 3;
        if (keys[slot] == key) {
            o[0] = v[0];
            o[1] = v[1];
            o[2] = v[2];
            continue;
        }
        const int r = s[0], g = s[1], b = s[2];
        int64_t base = (int64_t)offs[r] + offs[L + g] + offs[2 * L + b];
        interp3(j->table, base, fr_[r], fr_[L + g], fr_[2 * L + b], sr, sg, j->tetra, res);
        for (int c = 0; c < 3; c++)
            o[c] = v[c] = (uint8_t)quantise(res[c], j->out_max);
        keys[slot] = key;
    }
}

static void run3d(const job_t *j)
{
    const int64_t sr = (int64_t)j->n * j->n * 3, sg = (int64_t)j->n * 3;
    const int nm1 = j->n - 1;
    float res[3];
    if (j->in_type == T_F32) {
        for (int64_t i = j->start; i < j->end; i++) {
            const float *s = (const float *)j->src + i * 3;
            int ir, ig, ib;
            float fr, fg, fb;
            position(s[0], j->lo[0], j->scale[0], nm1, &ir, &fr);
            position(s[1], j->lo[1], j->scale[1], nm1, &ig, &fg);
            position(s[2], j->lo[2], j->scale[2], nm1, &ib, &fb);
            interp3(j->table, ir * sr + ig * sg + (int64_t)ib * 3, fr, fg, fb, sr, sg, j->tetra,
                    res);
            float *o = (float *)j->out + i * 3;
            o[0] = res[0];
            o[1] = res[1];
            o[2] = res[2];
        }
        return;
    }
    const int32_t *offs = j->offs;
    const float *fr_ = j->fracs;
    const int L = j->levels;
    if (j->in_type == T_U8) {
        run3d_u8_cached(j, sr, sg);
    } else if (j->in_type == T_U16) {
        LOOP_INT3(uint16_t, uint16_t, 0)
    } else {
        LOOP_INT3(uint8_t, uint8_t, 1)
    }
}

static void run1d(const job_t *j)
{
    const int nm1 = j->n - 1;
    for (int64_t i = j->start; i < j->end; i++) {
        float v[3], res[3];
        if (j->in_type == T_U8) {
            const uint8_t *s = (const uint8_t *)j->src + i * 3;
            for (int c = 0; c < 3; c++) v[c] = s[c] * j->in_scale;
        } else if (j->in_type == T_U16) {
            const uint16_t *s = (const uint16_t *)j->src + i * 3;
            for (int c = 0; c < 3; c++) v[c] = s[c] * j->in_scale;
        } else {
            const float *s = (const float *)j->src + i * 3;
            for (int c = 0; c < 3; c++) v[c] = s[c];
        }
        for (int c = 0; c < 3; c++) {
            int k;
            float f;
            position(v[c], j->lo[c], j->scale[c], nm1, &k, &f);
            float a = j->table[k * 3 + c], b = j->table[(k + 1) * 3 + c];
            res[c] = a + (b - a) * f;
        }
        if (j->in_type == T_U8) {
            STORE(uint8_t);
        } else if (j->in_type == T_U16) {
            STORE(uint16_t);
        } else {
            float *o = (float *)j->out + i * 3;
            for (int c = 0; c < 3; c++) o[c] = res[c];
        }
    }
}

static void *worker(void *arg)
{
    const job_t *j = (const job_t *)arg;
    if (j->is_1d)
        run1d(j);
    else
        run3d(j);
    return NULL;
}

#define MAX_THREADS 64

/* Split [0, m) over threads; the calling thread takes the first chunk. */
static int run_parallel(job_t *proto, int64_t m, int threads)
{
    if (threads < 1) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (m < 65536) threads = 1;
    job_t jobs[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    int64_t step = (m + threads - 1) / threads;
    for (int t = 0; t < threads; t++) {
        jobs[t] = *proto;
        jobs[t].start = t * step < m ? t * step : m;
        jobs[t].end = (t + 1) * step < m ? (t + 1) * step : m;
    }
    Py_BEGIN_ALLOW_THREADS
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&tids[t], NULL, worker, &jobs[t]) == 0;
    worker(&jobs[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tids[t], NULL);
        else
            worker(&jobs[t]); /* could not start a thread: do its share here */
    }
    Py_END_ALLOW_THREADS
    return 0;
}

/* apply3d / apply1d(src, out, table, n, in_type, offsets, fracs, levels, lo, scale,
 *                   in_scale, out_max, tetra, threads, m) */
static PyObject *py_apply(PyObject *self, PyObject *args, int is_1d)
{
    Py_buffer src, out, table, offs, fracs, lo, scale;
    int n, in_type, levels, tetra, threads;
    float out_max, in_scale;
    Py_ssize_t m;
    if (!PyArg_ParseTuple(args, "y*w*y*iiy*y*iy*y*ffiin", &src, &out, &table, &n, &in_type,
                          &offs, &fracs, &levels, &lo, &scale, &in_scale, &out_max, &tetra,
                          &threads, &m))
        return NULL;
    job_t j = {0};
    j.src = src.buf;
    j.out = out.buf;
    j.table = (const float *)table.buf;
    j.n = n;
    j.offs = (const int32_t *)offs.buf;
    j.fracs = (const float *)fracs.buf;
    j.levels = levels;
    for (int c = 0; c < 3; c++) {
        j.lo[c] = ((const float *)lo.buf)[c];
        j.scale[c] = ((const float *)scale.buf)[c];
    }
    j.in_scale = in_scale;
    j.out_max = out_max;
    j.tetra = tetra;
    j.in_type = in_type;
    j.is_1d = is_1d;
    run_parallel(&j, (int64_t)m, threads);
    PyBuffer_Release(&src);
    PyBuffer_Release(&out);
    PyBuffer_Release(&table);
    PyBuffer_Release(&offs);
    PyBuffer_Release(&fracs);
    PyBuffer_Release(&lo);
    PyBuffer_Release(&scale);
    Py_RETURN_NONE;
}

static PyObject *py_apply3d(PyObject *self, PyObject *args) { return py_apply(self, args, 0); }
static PyObject *py_apply1d(PyObject *self, PyObject *args) { return py_apply(self, args, 1); }

typedef struct {
    const uint8_t *src, *dense;
    uint8_t *out;
    int64_t start, end;
} gather_t;

static void *gather_worker(void *arg)
{
    gather_t *g = (gather_t *)arg;
    for (int64_t i = g->start; i < g->end; i++) {
        const uint8_t *s = g->src + i * 3;
        const uint8_t *d = g->dense + (((int64_t)s[0] << 16) | ((int64_t)s[1] << 8) | s[2]) * 3;
        uint8_t *o = g->out + i * 3;
        o[0] = d[0];
        o[1] = d[1];
        o[2] = d[2];
    }
    return NULL;
}

/* gather_dense(src, out, dense, threads, m) */
static PyObject *py_gather_dense(PyObject *self, PyObject *args)
{
    Py_buffer src, out, dense;
    int threads;
    Py_ssize_t m;
    if (!PyArg_ParseTuple(args, "y*w*y*in", &src, &out, &dense, &threads, &m))
        return NULL;
    if (threads < 1) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (m < 65536) threads = 1;
    gather_t jobs[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    int64_t step = (m + threads - 1) / threads;
    for (int t = 0; t < threads; t++) {
        jobs[t].src = src.buf;
        jobs[t].dense = dense.buf;
        jobs[t].out = out.buf;
        jobs[t].start = t * step < m ? t * step : m;
        jobs[t].end = (t + 1) * step < m ? (t + 1) * step : m;
    }
    Py_BEGIN_ALLOW_THREADS
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&tids[t], NULL, gather_worker, &jobs[t]) == 0;
    gather_worker(&jobs[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tids[t], NULL);
        else
            gather_worker(&jobs[t]);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&src);
    PyBuffer_Release(&out);
    PyBuffer_Release(&dense);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"apply3d", py_apply3d, METH_VARARGS, "Apply a 3D LUT (see lutkit/luts/apply.py)."},
    {"apply1d", py_apply1d, METH_VARARGS, "Apply a 1D LUT (see lutkit/luts/apply.py)."},
    {"gather_dense", py_gather_dense, METH_VARARGS, "Gather from a dense 8-bit table."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_lutc", NULL, -1, methods};

PyMODINIT_FUNC PyInit__lutc(void) { return PyModule_Create(&module); }
