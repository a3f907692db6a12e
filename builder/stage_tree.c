/* SPDX-License-Identifier: Apache-2.0 */
/* The chroot tier's trees (stage.h): a stage's filesystem copied out of its layers into a
 * plain directory, and a step's layer found by comparing that tree with its earlier state.
 * Each step gets a fresh copy: slower than overlay, but a cache hit or a failed step never
 * leaves a tree out of step with the stage's layers. */
#include "stage.h"

#include <fcntl.h>
#include <unistd.h>

#include "sandbox/tree.h"
#include "common/cleanup.h"

int
stage_tree_fill(const struct stage_state *ss, const char *dir, struct lade_error *err)
{
    cleanup_close int tree = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (tree < 0)
        return lade_error_sys(err, "cannot open '%s'", dir);
    for (size_t i = 0; i < ss->nlayers; i++) {
        cleanup_close int layer = open(ss->layers[i].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (layer < 0)
            return lade_error_sys(err, "cannot open layer '%s'", ss->layers[i].dir);
        if (tree_apply_layer(tree, layer, err) < 0)
            return lade_error_prefix(err, "cannot copy layer %s into the chroot tree",
                                     ss->layers[i].diff_id);
    }
    return 0;
}

int
fs_step_snapshot(struct fs_step *fs, char *const *skip, struct lade_error *err)
{
    cleanup_close int tree = open(fs->merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (tree < 0)
        return lade_error_sys(err, "cannot open '%s'", fs->merged);
    tree_snapshot_free(fs->snap);
    fs->snap = NULL;
    return tree_snapshot_take(tree, skip, &fs->snap, err);
}

int
fs_step_diff(struct fs_step *fs, struct lade_error *err)
{
    cleanup_close int tree = open(fs->merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_close int upper = open(fs->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (tree < 0 || upper < 0)
        return lade_error_sys(err, "cannot open the step's trees in '%s'", fs->dir);
    if (tree_diff_to_upper(tree, fs->snap, upper, err) < 0)
        return lade_error_prefix(err, "cannot compute the layer of the chroot tree");
    tree_snapshot_free(fs->snap); /* done: fs_step_end commits upper as it is */
    fs->snap = NULL;
    return 0;
}
