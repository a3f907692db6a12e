/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The release of lade: `lade version` and the registry client's User-Agent. */
#define LADE_VERSION "0.1.0"
