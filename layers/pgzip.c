/* SPDX-License-Identifier: Apache-2.0 */
/* Block-parallel gzip with the output independent of the number of threads: the input is cut
 * into fixed PGZ_BLOCK pieces, each deflated on its own with the previous piece's last 32 KiB
 * as its dictionary and ended by a sync flush (the last one by Z_FINISH). The pieces join into
 * one deflate stream, so the blob is an ordinary one-member gzip file. Deflate is the slowest
 * stage of writing a big layer; this spreads it over the cores. The output callback always runs
 * on the caller's thread, in order, so the blob's hash and file need no locking. */
#include "tar-internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../builder/common/xalloc.h"

#define PGZ_BLOCK (128 * 1024)
#define PGZ_DICT (32 * 1024)
#define PGZ_MAX_THREADS 8

enum job_state { JOB_FREE, JOB_QUEUED, JOB_DONE, JOB_FAILED };

struct pgz_job {
    enum job_state state;
    bool last;
    size_t in_len, dict_len, out_len;
    unsigned char *in, *dict, *out;
};

struct pgzip {
    int level;
    unsigned nthreads; /* 0: compress on the caller's thread */
    pgzip_out_fn out;
    void *out_ctx;
    z_stream inline_zs; /* the caller's own stream, when nthreads == 0 */
    bool inline_ready;
    bool header_sent;
    uint32_t crc;
    uint64_t isize;
    size_t out_cap;
    /* the ring: job seq lives in ring[seq % nring] */
    struct pgz_job *ring;
    size_t nring;
    uint64_t fill_seq;  /* the job being filled by the caller */
    uint64_t take_seq;  /* the next job a worker takes (< fill_seq when queued) */
    uint64_t write_seq; /* the next job whose output goes out */
    pthread_t *threads;
    unsigned started;
    bool stop;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
};

static struct pgz_job *
job_at(struct pgzip *z, uint64_t seq)
{
    return &z->ring[seq % z->nring];
}

static int
deflate_init(z_stream *zs, int level)
{
    memset(zs, 0, sizeof(*zs));
    return deflateInit2(zs, level, Z_DEFLATED, -15 /* raw */, 8, Z_DEFAULT_STRATEGY) == Z_OK ? 0
                                                                                             : -1;
}

/* Deflates one job with zs; returns its new state (JOB_DONE or JOB_FAILED). */
static enum job_state
deflate_job(z_stream *zs, struct pgz_job *j, size_t out_cap)
{
    int rc = deflateReset(zs);

    if (rc == Z_OK && j->dict_len > 0)
        rc = deflateSetDictionary(zs, j->dict, (uInt) j->dict_len);
    zs->next_in = j->in;
    zs->avail_in = (uInt) j->in_len;
    zs->next_out = j->out;
    zs->avail_out = (uInt) out_cap;
    if (rc == Z_OK)
        rc = deflate(zs, j->last ? Z_FINISH : Z_SYNC_FLUSH);
    bool ok = j->last ? rc == Z_STREAM_END : rc == Z_OK && zs->avail_out > 0;
    j->out_len = out_cap - zs->avail_out;
    return ok && zs->avail_in == 0 ? JOB_DONE : JOB_FAILED;
}

static void *
worker_main(void *arg)
{
    struct pgzip *z = arg;
    z_stream zs;
    bool ready = deflate_init(&zs, z->level) == 0;

    pthread_mutex_lock(&z->mu);
    for (;;) {
        while (!z->stop && z->take_seq == z->fill_seq)
            pthread_cond_wait(&z->work_cv, &z->mu);
        if (z->stop)
            break;
        struct pgz_job *j = job_at(z, z->take_seq++);
        pthread_mutex_unlock(&z->mu);
        enum job_state st = ready ? deflate_job(&zs, j, z->out_cap) : JOB_FAILED;
        pthread_mutex_lock(&z->mu);
        j->state = st;
        pthread_cond_broadcast(&z->done_cv);
    }
    pthread_mutex_unlock(&z->mu);
    if (ready)
        deflateEnd(&zs);
    return NULL;
}

struct pgzip *
pgzip_new(int level, unsigned nthreads, pgzip_out_fn out, void *out_ctx)
{
    struct pgzip *z = xcalloc(1, sizeof(*z));

    z->level = level;
    z->nthreads = nthreads > PGZ_MAX_THREADS ? PGZ_MAX_THREADS : nthreads;
    z->out = out;
    z->out_ctx = out_ctx;
    z->crc = (uint32_t) crc32(0L, Z_NULL, 0);
    /* a sync flush adds at most an empty stored block (5 bytes) to deflateBound's figure */
    z->out_cap = PGZ_BLOCK + PGZ_BLOCK / 8 + 1024;
    z->nring = z->nthreads ? 2 * (size_t) z->nthreads + 1 : 1;
    z->ring = xcalloc(z->nring, sizeof(*z->ring));
    for (size_t i = 0; i < z->nring; i++) {
        z->ring[i].in = xmalloc(PGZ_BLOCK);
        z->ring[i].dict = xmalloc(PGZ_DICT);
        z->ring[i].out = xmalloc(z->out_cap);
    }
    pthread_mutex_init(&z->mu, NULL);
    pthread_cond_init(&z->work_cv, NULL);
    pthread_cond_init(&z->done_cv, NULL);
    return z;
}

/* Hands the finished jobs to the callback in order: all before seq `until`, waiting for them
 * when wait is set, else only those already done. */
static int
write_out(struct pgzip *z, uint64_t until, bool wait)
{
    /* deflate, no flags, no mtime, XFL 4 (fastest), OS 255 (unknown) */
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255};

    while (z->write_seq < until) {
        struct pgz_job *j = job_at(z, z->write_seq);
        pthread_mutex_lock(&z->mu);
        while (wait && j->state == JOB_QUEUED)
            pthread_cond_wait(&z->done_cv, &z->mu);
        enum job_state st = j->state;
        pthread_mutex_unlock(&z->mu);
        if (st == JOB_QUEUED)
            return 0;
        if (st == JOB_FAILED)
            return -1;
        if (!z->header_sent && z->out(z->out_ctx, header, sizeof(header)) < 0)
            return -1;
        z->header_sent = true;
        if (j->out_len > 0 && z->out(z->out_ctx, j->out, j->out_len) < 0)
            return -1;
        j->state = JOB_FREE;
        z->write_seq++;
    }
    return 0;
}

static int
start_threads(struct pgzip *z)
{
    z->threads = xcalloc(z->nthreads, sizeof(*z->threads));
    for (; z->started < z->nthreads; z->started++)
        if (pthread_create(&z->threads[z->started], NULL, worker_main, z) != 0)
            return z->started > 0 ? 0 : -1; /* fewer workers only slow it down */
    return 0;
}

/* Queues the job being filled (or deflates it here) and readies the next one. */
static int
submit(struct pgzip *z, bool last)
{
    struct pgz_job *j = job_at(z, z->fill_seq);

    j->last = last;
    if (z->nthreads == 0) {
        if (!z->inline_ready && deflate_init(&z->inline_zs, z->level) < 0)
            return -1;
        z->inline_ready = true;
        j->state = deflate_job(&z->inline_zs, j, z->out_cap);
        z->fill_seq++;
        if (write_out(z, z->fill_seq, true) < 0)
            return -1;
    } else {
        if (z->started == 0 && start_threads(z) < 0)
            return -1;
        pthread_mutex_lock(&z->mu);
        j->state = JOB_QUEUED;
        z->fill_seq++;
        pthread_cond_signal(&z->work_cv);
        pthread_mutex_unlock(&z->mu);
        /* the next slot must be written out before it is refilled */
        uint64_t need = z->fill_seq + 1 > z->nring ? z->fill_seq + 1 - z->nring : 0;
        if (write_out(z, need, true) < 0 || write_out(z, z->fill_seq, false) < 0)
            return -1;
    }
    if (last)
        return 0;
    struct pgz_job *next = job_at(z, z->fill_seq);
    size_t keep = j->in_len < PGZ_DICT ? j->in_len : PGZ_DICT;
    memcpy(next->dict, j->in + j->in_len - keep, keep);
    next->dict_len = keep;
    next->in_len = 0;
    return 0;
}

int
pgzip_write(struct pgzip *z, const void *data, size_t n)
{
    const unsigned char *p = data;

    z->crc = (uint32_t) crc32_z(z->crc, p, n);
    z->isize += n;
    while (n > 0) {
        struct pgz_job *j = job_at(z, z->fill_seq);
        size_t take = PGZ_BLOCK - j->in_len < n ? PGZ_BLOCK - j->in_len : n;
        memcpy(j->in + j->in_len, p, take);
        j->in_len += take;
        p += take;
        n -= take;
        /* a full block goes only once more input shows it is not the last */
        if (n > 0 && j->in_len == PGZ_BLOCK && submit(z, false) < 0)
            return -1;
    }
    return 0;
}

int
pgzip_finish(struct pgzip *z)
{
    unsigned char trailer[8];

    if (submit(z, true) < 0 || write_out(z, z->fill_seq, true) < 0)
        return -1;
    for (int i = 0; i < 4; i++) {
        trailer[i] = (unsigned char) (z->crc >> (8 * i));
        trailer[4 + i] = (unsigned char) ((uint32_t) z->isize >> (8 * i));
    }
    return z->out(z->out_ctx, trailer, sizeof(trailer));
}

void
pgzip_free(struct pgzip *z)
{
    if (z == NULL)
        return;
    pthread_mutex_lock(&z->mu);
    z->stop = true;
    pthread_cond_broadcast(&z->work_cv);
    pthread_mutex_unlock(&z->mu);
    for (unsigned i = 0; i < z->started; i++)
        pthread_join(z->threads[i], NULL);
    if (z->inline_ready)
        deflateEnd(&z->inline_zs);
    for (size_t i = 0; i < z->nring; i++) {
        free(z->ring[i].in);
        free(z->ring[i].dict);
        free(z->ring[i].out);
    }
    free(z->ring);
    free(z->threads);
    pthread_mutex_destroy(&z->mu);
    pthread_cond_destroy(&z->work_cv);
    pthread_cond_destroy(&z->done_cv);
    free(z);
}
