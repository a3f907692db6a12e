/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What inspect, images and history show of a stored image, as docker shows it. */

#include <stdint.h>

#include "cmd.h"

/* RFC 3339 ("2024-01-02T03:04:05.5+01:00") to epoch seconds; -1 when it does not parse. */
int64_t image_parse_time(const char *s);
/* docker's "About an hour ago" style (go-units HumanDuration + " ago"); created < 0: "N/A". */
void image_format_age(int64_t created, char *out, size_t n);
/* The uncompressed size of layer i of img as docker counts it (the bytes of its files, a
 * hardlinked file once); -1 when its tree cannot be read. */
int64_t image_layer_size(struct store *st, const struct store_image *img, size_t i);
/* The sum of image_layer_size over the layers (docker's SIZE). */
int64_t image_size(struct store *st, const struct store_image *img);
/* docker image inspect's object for img (Id, RepoTags, RepoDigests, Created, Config, Os,
 * Architecture, Size, RootFS, ...); caller decrefs. */
json_t *image_docker_json(struct store *st, const struct store_image *img);
