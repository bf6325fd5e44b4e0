/*
 * lutkit's LUT kernels in C: tetrahedral / trilinear 3D LUTs and 1D LUTs over uint8,
 * uint16 and float32 pixels, split over threads with the GIL released.
 *
 * The Python side (lutkit/luts/apply.py) checks shapes, dtypes and contiguity and
 * passes plain buffers; nothing here allocates. Tables are float32, a 3D table is
 * laid out [r][g][b][4] (blue fastest, unlike the .cube text where red changes
 * fastest; RGB and a zero, so that a lattice point is one 16-byte vector load).
 * Integer input is positioned through per-channel lookup tables (offset of the lower
 * lattice point, already multiplied by the stride, and the fraction), so the
 * per-pixel work is the interpolation alone.
 *
 * Tetrahedral interpolation of integer input has a vector path: the three channels of
 * a lattice point in one SSE register, so a pixel is four vector loads and four
 * multiply-adds instead of twelve of each. It does the scalar path's arithmetic in the
 * scalar path's order (no FMA: the build uses -ffp-contract=off), so both paths give
 * the same bits. It is compiled wherever the compiler targets SSE2 (every x86-64) and
 * chosen at run time; set_path(0) forces the scalar path (the tests compare them).
 * Threads take chunks of pixels from a shared counter, so a thread slowed down by other
 * work on a busy machine holds up nobody.
 *
 * Tried and measured slower on the Xeon this was built on, so left out: table reads as
 * AVX2 gathers, 8 pixels a step (gathers are microcoded there: 0.8x the scalar loop);
 * two pixels a step in the halves of AVX2 registers (0.9x this SSE2 loop); this loop
 * compiled for AVX2 with a target attribute (0.9x); a colour cache in front of the
 * vector path (0.92x).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && defined(__SSE2__) && \
    (defined(__GNUC__) || defined(__clang__))
#define HAVE_VEC 1
#include <immintrin.h>
#endif

#define TS 4 /* floats per lattice point of a 3D table */

enum { PATH_SCALAR = 0, PATH_SSE2 = 1 };
static int simd_path = -1; /* -1: not decided yet */

/* The best path this build runs. */
static int best_path(void)
{
#ifdef HAVE_VEC
    return PATH_SSE2;
#else
    return PATH_SCALAR;
#endif
}

static int current_path(void)
{
    if (simd_path < 0)
        simd_path = best_path();
    return simd_path;
}

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
    int path;      /* PATH_* */
    int64_t *next; /* shared chunk counter */
    int64_t chunk, total;
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
    const int64_t sb = TS;
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

#ifdef HAVE_VEC
/* The scalar path's sort and weights of one pixel: (w0, w1, w2, w3), and the offsets
 * of vertices 1 and 2 from the lower lattice point. */
static inline __attribute__((always_inline)) void
tetra_weights(float fr, float fg, float fb, int64_t sr, int64_t sg, float w[4], int64_t *o1,
              int64_t *o2)
{
    float f1 = fr, f2 = fg, f3 = fb, ft;
    int64_t s1 = sr, s2 = sg, s3 = TS, st;
    if (f1 < f2) { ft = f1; f1 = f2; f2 = ft; st = s1; s1 = s2; s2 = st; }
    if (f2 < f3) { ft = f2; f2 = f3; f3 = ft; st = s2; s2 = s3; s3 = st; }
    if (f1 < f2) { ft = f1; f1 = f2; f2 = ft; st = s1; s1 = s2; s2 = st; }
    w[0] = 1.0f - f1;
    w[1] = f1 - f2;
    w[2] = f2 - f3;
    w[3] = f3;
    *o1 = s1;
    *o2 = s1 + s2;
}

/* interp3 (tetrahedral) then quantise, the three channels at once: lanes 0-2 of the
 * result are the channels' integer values (lane 3 is the zero padding's). */
static inline __attribute__((always_inline)) __m128i
tetra_q(const float *t, int64_t base, float fr, float fg, float fb, int64_t sr, int64_t sg,
        __m128 omax)
{
    float w[4];
    int64_t o1, o2;
    tetra_weights(fr, fg, fb, sr, sg, w, &o1, &o2);
    const float *p0 = t + base;
    __m128 v = _mm_mul_ps(_mm_set1_ps(w[0]), _mm_loadu_ps(p0));
    v = _mm_add_ps(v, _mm_mul_ps(_mm_set1_ps(w[1]), _mm_loadu_ps(p0 + o1)));
    v = _mm_add_ps(v, _mm_mul_ps(_mm_set1_ps(w[2]), _mm_loadu_ps(p0 + o2)));
    v = _mm_add_ps(v, _mm_mul_ps(_mm_set1_ps(w[3]), _mm_loadu_ps(p0 + sr + sg + TS)));
    /* quantise(): max(., 0) also sends NaN to 0, as !(v > 0) does */
    v = _mm_add_ps(_mm_mul_ps(v, omax), _mm_set1_ps(0.5f));
    v = _mm_min_ps(_mm_max_ps(v, _mm_setzero_ps()), omax);
    return _mm_cvttps_epi32(v);
}

/* The low three bytes: the channels of a tetra_q result, as uint8. */
static inline __attribute__((always_inline)) uint32_t packed_u8(__m128i q)
{
    q = _mm_packs_epi32(q, q);
    return (uint32_t)_mm_cvtsi128_si32(_mm_packus_epi16(q, q));
}
#endif

#define STORE(OUT_T)                                                     \
    do {                                                                 \
        OUT_T *o = (OUT_T *)j->out + i * 3;                              \
        for (int c = 0; c < 3; c++)                                      \
            o[c] = (OUT_T)quantise(res[c], j->out_max);                  \
    } while (0)

#ifdef HAVE_VEC
#define VEC_INT3(OUT_T)                                                               \
    if (vec) {                                                                        \
        const __m128i q = tetra_q(j->table, base, fr_[r], fr_[L + g], fr_[2 * L + b], \
                                  sr, sg, omax);                                      \
        int32_t qs[4];                                                                \
        _mm_storeu_si128((__m128i *)qs, q);                                           \
        OUT_T *o = (OUT_T *)j->out + i * 3;                                           \
        o[0] = (OUT_T)qs[0]; o[1] = (OUT_T)qs[1]; o[2] = (OUT_T)qs[2];                \
        continue;                                                                     \
    }
#else
#define VEC_INT3(OUT_T)
#endif

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
        VEC_INT3(OUT_T)                                                               \
        interp3(j->table, base, fr_[r], fr_[L + g], fr_[2 * L + b], sr, sg, j->tetra, \
                res);                                                                 \
        STORE(OUT_T);                                                                 \
    }

/* 8-bit input: photos repeat colours locally (skies, walls, shadows), so a small
 * direct-mapped cache of recent colour -> result pairs (per thread, 4096 entries,
 * 28 KB: stays in L1/L2) skips the interpolation for repeats. Results are identical:
 * the cache only remembers what the kernel computed. */
#define CACHE_BITS 12
static inline __attribute__((always_inline)) void run3d_u8_cached(const job_t *j, int64_t sr,
                                                                  int64_t sg, const int vec)
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
#ifdef HAVE_VEC
        if (vec) {
            const __m128 omax = _mm_set1_ps(j->out_max);
            const uint32_t w = packed_u8(
                tetra_q(j->table, base, fr_[r], fr_[L + g], fr_[2 * L + b], sr, sg, omax));
            o[0] = v[0] = (uint8_t)w;
            o[1] = v[1] = (uint8_t)(w >> 8);
            o[2] = v[2] = (uint8_t)(w >> 16);
            keys[slot] = key;
            continue;
        }
#endif
        interp3(j->table, base, fr_[r], fr_[L + g], fr_[2 * L + b], sr, sg, j->tetra, res);
        for (int c = 0; c < 3; c++)
            o[c] = v[c] = (uint8_t)quantise(res[c], j->out_max);
        keys[slot] = key;
    }
}

/* ``vec``: the vector path (tetrahedral, integer input); a constant in each copy below. */
static inline __attribute__((always_inline)) void run3d_body(const job_t *j, const int vec)
{
    const int64_t sr = (int64_t)j->n * j->n * TS, sg = (int64_t)j->n * TS;
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
            interp3(j->table, ir * sr + ig * sg + (int64_t)ib * TS, fr, fg, fb, sr, sg, j->tetra,
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
#ifdef HAVE_VEC
    const __m128 omax = _mm_set1_ps(j->out_max);
#endif
    if (j->in_type == T_U8 && !vec) {
        run3d_u8_cached(j, sr, sg, vec);
    } else if (j->in_type == T_U8) { /* the vector path is faster without the cache */
        LOOP_INT3(uint8_t, uint8_t, 0)
    } else if (j->in_type == T_U16) {
        LOOP_INT3(uint16_t, uint16_t, 0)
    } else {
        LOOP_INT3(uint8_t, uint8_t, 1)
    }
}

static void run3d_scalar(const job_t *j) { run3d_body(j, 0); }
#ifdef HAVE_VEC
static void run3d_sse2(const job_t *j) { run3d_body(j, 1); }

#endif

static void run3d(const job_t *j)
{
#ifdef HAVE_VEC
    if (j->tetra && j->in_type != T_F32 && j->path == PATH_SSE2) {
        run3d_sse2(j);
        return;
    }
#endif
    run3d_scalar(j);
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
    job_t j = *(const job_t *)arg;
    for (;;) {
        const int64_t c = __atomic_fetch_add(j.next, 1, __ATOMIC_RELAXED);
        if (c * j.chunk >= j.total)
            break;
        j.start = c * j.chunk;
        j.end = j.start + j.chunk < j.total ? j.start + j.chunk : j.total;
        if (j.is_1d)
            run1d(&j);
        else
            run3d(&j);
    }
    return NULL;
}

#define MAX_THREADS 64

/* Pixels per chunk: small enough that a thread slowed by other work on a busy machine
 * delays the end by little, large enough that taking one costs nothing. */
#define CHUNK 65536

/* Run [0, m) on ``threads`` threads that take chunks from a shared counter (the calling
 * thread works too); a thread that cannot start leaves its chunks to the others. */
static int run_parallel(job_t *proto, int64_t m, int threads)
{
    if (threads < 1) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (m < 65536) threads = 1;
    int64_t next = 0;
    pthread_t tids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    proto->next = &next;
    proto->chunk = CHUNK;
    proto->total = m;
    proto->path = current_path();
    Py_BEGIN_ALLOW_THREADS
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&tids[t], NULL, worker, proto) == 0;
    worker(proto);
    for (int t = 1; t < threads; t++)
        if (started[t])
            pthread_join(tids[t], NULL);
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

/* ---------------------------------------------------------------- inversion
 *
 * invert3d: for every colour y find x with F(x) = y, F the tetrahedral interpolation
 * of a float64 table [r][g][b][3]; the Newton inversion of lutkit/distort/truth.py.
 * Inside each of a cell's six tetrahedra F is linear, so a step solves with that
 * tetrahedron's exact Jacobian (regularised normal equations, as near-flat regions
 * must still move); a step that does not cut the error by 2% is halved, from the last
 * good x, and a point stops when converged (1e-6) or when an eighth of its step does
 * not help. Per point it also reports max |F(x) - y| and the determinant of F's
 * central-difference Jacobian at x (step h, one-sided at the domain's edges). */
typedef struct {
    const double *t;
    int n;
    double lo[3], hi[3], scale[3];
} inv_t;

static void tet_eval(const inv_t *L, const double x[3], double out[3], double jac[3][3])
{
    const int64_t stride[3] = {(int64_t)L->n * L->n * 3, (int64_t)L->n * 3, 3};
    int64_t base = 0;
    double f[3];
    for (int c = 0; c < 3; c++) {
        double p = (x[c] - L->lo[c]) * L->scale[c];
        if (!(p >= 0.0)) /* NaN too: floor(NaN) to an integer is undefined */
            p = 0.0;
        else if (p > L->n - 1)
            p = L->n - 1;
        double i = floor(p);
        if (i > L->n - 2)
            i = L->n - 2;
        f[c] = p - i;
        base += (int64_t)i * stride[c];
    }
    /* Axes by decreasing fraction, ties in r, g, b order (a stable sort). */
    int a[3] = {0, 1, 2}, tmp;
    if (f[a[0]] < f[a[1]]) { tmp = a[0]; a[0] = a[1]; a[1] = tmp; }
    if (f[a[1]] < f[a[2]]) { tmp = a[1]; a[1] = a[2]; a[2] = tmp; }
    if (f[a[0]] < f[a[1]]) { tmp = a[0]; a[0] = a[1]; a[1] = tmp; }
    const double *p = L->t + base;
    for (int c = 0; c < 3; c++)
        out[c] = p[c];
    for (int k = 0; k < 3; k++) {
        const double *q = p + stride[a[k]];
        for (int c = 0; c < 3; c++) {
            out[c] += f[a[k]] * (q[c] - p[c]);
            if (jac)
                jac[c][a[k]] = (q[c] - p[c]) * L->scale[a[k]];
        }
        p = q;
    }
}

static double max_abs_diff(const double u[3], const double v[3])
{
    double e = 0.0;
    for (int c = 0; c < 3; c++) {
        double d = fabs(u[c] - v[c]);
        e = d > e ? d : e;
    }
    return e;
}

static double clamp(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* (J^T J + 1e-6 I)^-1 J^T r by the adjugate of the symmetric J^T J. */
static void solve_normal(double jac[3][3], const double r[3], double step[3])
{
    double a[3][3], b[3];
    for (int i = 0; i < 3; i++) {
        b[i] = jac[0][i] * r[0] + jac[1][i] * r[1] + jac[2][i] * r[2];
        for (int j = 0; j < 3; j++)
            a[i][j] = jac[0][i] * jac[0][j] + jac[1][i] * jac[1][j] + jac[2][i] * jac[2][j];
        a[i][i] += 1e-6;
    }
    const double m00 = a[1][1] * a[2][2] - a[1][2] * a[1][2];
    const double m11 = a[0][0] * a[2][2] - a[0][2] * a[0][2];
    const double m22 = a[0][0] * a[1][1] - a[0][1] * a[0][1];
    const double m01 = a[0][2] * a[1][2] - a[0][1] * a[2][2];
    const double m02 = a[0][1] * a[1][2] - a[0][2] * a[1][1];
    const double m12 = a[0][1] * a[0][2] - a[0][0] * a[1][2];
    const double det = a[0][0] * m00 + a[0][1] * m01 + a[0][2] * m02;
    step[0] = (m00 * b[0] + m01 * b[1] + m02 * b[2]) / det;
    step[1] = (m01 * b[0] + m11 * b[1] + m12 * b[2]) / det;
    step[2] = (m02 * b[0] + m12 * b[1] + m22 * b[2]) / det;
}

static void invert_point(const inv_t *L, const double y[3], int iterations, double x[3],
                         double *residual, double *det)
{
    double fx[3], jac[3][3], r[3], step[3], trial[3];
    for (int c = 0; c < 3; c++)
        x[c] = y[c];
    tet_eval(L, x, fx, jac);
    for (int c = 0; c < 3; c++)
        r[c] = y[c] - fx[c];
    double err = max_abs_diff(y, fx), t = 1.0;
    int going = err >= 1e-6;
    if (going)
        solve_normal(jac, r, step);
    for (int it = 0; it < iterations && going; it++) {
        for (int c = 0; c < 3; c++)
            trial[c] = clamp(x[c] + t * step[c], L->lo[c], L->hi[c]);
        tet_eval(L, trial, fx, jac);
        const double e = max_abs_diff(y, fx);
        if (e < 0.98 * err) {
            const double moved = max_abs_diff(trial, x);
            for (int c = 0; c < 3; c++) {
                x[c] = trial[c];
                r[c] = y[c] - fx[c];
            }
            err = e;
            t = 1.0;
            going = moved > 1e-7 && e >= 1e-6;
            if (going)
                solve_normal(jac, r, step);
        } else {
            t *= 0.5;
            going = t >= 0.125;
        }
    }
    tet_eval(L, x, fx, NULL);
    *residual = max_abs_diff(fx, y);
    double fd[3][3], pa[3], pb[3], fa[3], fb[3];
    for (int j = 0; j < 3; j++) {
        const double h = 1e-3 * (L->hi[j] - L->lo[j]);
        for (int c = 0; c < 3; c++)
            pa[c] = pb[c] = x[c];
        pa[j] = clamp(x[j] + h, L->lo[j], L->hi[j]);
        pb[j] = clamp(x[j] - h, L->lo[j], L->hi[j]);
        tet_eval(L, pa, fa, NULL);
        tet_eval(L, pb, fb, NULL);
        const double d = fabs(pa[j] - pb[j]) > 1e-12 ? pa[j] - pb[j] : 1e-12;
        for (int c = 0; c < 3; c++)
            fd[c][j] = (fa[c] - fb[c]) / d;
    }
    *det = fd[0][0] * (fd[1][1] * fd[2][2] - fd[1][2] * fd[2][1]) -
           fd[0][1] * (fd[1][0] * fd[2][2] - fd[1][2] * fd[2][0]) +
           fd[0][2] * (fd[1][0] * fd[2][1] - fd[1][1] * fd[2][0]);
}

/* invert3d(table, n, lo, hi, y, x, residual, det, iterations, m): float64 buffers; the
 * table [r][g][b][3], lo and hi 3 values, y and x m * 3, residual and det m. */
static PyObject *py_invert3d(PyObject *self, PyObject *args)
{
    Py_buffer table, lo, hi, y, x, residual, det;
    int n, iterations;
    Py_ssize_t m;
    if (!PyArg_ParseTuple(args, "y*iy*y*y*w*w*w*in", &table, &n, &lo, &hi, &y, &x, &residual,
                          &det, &iterations, &m))
        return NULL;
    const Py_ssize_t d = (Py_ssize_t)sizeof(double);
    const int sizes_ok = n >= 2 && m >= 0 && table.len == (Py_ssize_t)n * n * n * 3 * d &&
                         lo.len == 3 * d && hi.len == 3 * d && y.len == 3 * m * d &&
                         x.len == 3 * m * d && residual.len == m * d && det.len == m * d;
    if (!sizes_ok) {
        PyErr_SetString(PyExc_ValueError,
                        "invert3d: float64 buffers of n^3*3, 3, 3, m*3, m*3, m and m values");
        goto done;
    }
    inv_t L;
    L.t = (const double *)table.buf;
    L.n = n;
    for (int c = 0; c < 3; c++) {
        L.lo[c] = ((const double *)lo.buf)[c];
        L.hi[c] = ((const double *)hi.buf)[c];
        L.scale[c] = (n - 1) / (L.hi[c] - L.lo[c]);
    }
    const double *yb = (const double *)y.buf;
    double *xb = (double *)x.buf, *rb = (double *)residual.buf, *db = (double *)det.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < m; i++)
        invert_point(&L, yb + 3 * i, iterations, xb + 3 * i, rb + i, db + i);
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&table);
    PyBuffer_Release(&lo);
    PyBuffer_Release(&hi);
    PyBuffer_Release(&y);
    PyBuffer_Release(&x);
    PyBuffer_Release(&residual);
    PyBuffer_Release(&det);
    if (!sizes_ok)
        return NULL;
    Py_RETURN_NONE;
}

/* set_path(path) -> the previous path: 0 scalar, 1 SSE2, -1 the best this build runs; a
 * path the build lacks falls back to the best it has. path() -> the path in use. */
static PyObject *py_set_path(PyObject *self, PyObject *args)
{
    int path;
    if (!PyArg_ParseTuple(args, "i", &path))
        return NULL;
    const int before = current_path(), best = best_path();
    simd_path = path < 0 || path > best ? best : path;
    return PyLong_FromLong(before);
}

static PyObject *py_path(PyObject *self, PyObject *args) { return PyLong_FromLong(current_path()); }

static PyMethodDef methods[] = {
    {"set_path", py_set_path, METH_VARARGS, "Choose the kernel path: 0 scalar, 1 SSE2."},
    {"path", py_path, METH_NOARGS, "The kernel path in use: 0 scalar, 1 SSE2."},
    {"apply3d", py_apply3d, METH_VARARGS, "Apply a 3D LUT (see lutkit/luts/apply.py)."},
    {"apply1d", py_apply1d, METH_VARARGS, "Apply a 1D LUT (see lutkit/luts/apply.py)."},
    {"gather_dense", py_gather_dense, METH_VARARGS, "Gather from a dense 8-bit table."},
    {"invert3d", py_invert3d, METH_VARARGS, "Invert a 3D table (see lutkit/distort/truth.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_lutc", NULL, -1, methods};

PyMODINIT_FUNC PyInit__lutc(void) { return PyModule_Create(&module); }
