/* SPDX-License-Identifier: Apache-2.0 */
/* Open addressing with linear probing; trees have few hardlinked inodes, so this stays small. */
#include "inomap.h"

#include <stdint.h>
#include <stdlib.h>

#include "xalloc.h"

struct inomap_slot {
    dev_t dev;
    ino_t ino;
    char *path; /* NULL: free slot */
};

static size_t
slot_hash(dev_t dev, ino_t ino)
{
    uint64_t h = (uint64_t) ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t) dev;
    return (size_t) (h ^ (h >> 29));
}

static void
grow(struct inomap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct inomap_slot *slots = xcalloc(cap, sizeof(*slots));

    for (size_t i = 0; i < m->cap; i++) {
        struct inomap_slot *s = &m->slots[i];
        if (s->path == NULL)
            continue;
        size_t j = slot_hash(s->dev, s->ino) & (cap - 1);
        while (slots[j].path != NULL)
            j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
}

const char *
inomap_take(struct inomap *m, dev_t dev, ino_t ino, const char *path)
{
    if (2 * (m->n + 1) > m->cap)
        grow(m);
    size_t j = slot_hash(dev, ino) & (m->cap - 1);
    for (; m->slots[j].path != NULL; j = (j + 1) & (m->cap - 1))
        if (m->slots[j].dev == dev && m->slots[j].ino == ino)
            return m->slots[j].path;
    m->slots[j] = (struct inomap_slot){dev, ino, xstrdup(path)};
    m->n++;
    return NULL;
}

void
inomap_release(struct inomap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].path);
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}
