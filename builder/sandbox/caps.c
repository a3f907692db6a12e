/* SPDX-License-Identifier: Apache-2.0 */
/* Capabilities of the RUN process: docker's default set, through capset(2) directly so that
 * lade needs no libcap. */
#include "sandbox-internal.h"

#include <errno.h>
#include <sys/prctl.h>
#include <linux/capability.h>

int
caps_drop_bounding(uint64_t keep, struct lade_error *err)
{
    /* Walk up to the first capability this kernel does not know (EINVAL): new kernels may
     * add capabilities that docker's list, and so this one, has never granted. */
    for (unsigned cap = 0; cap < 64; cap++) {
        if (keep & (1ULL << cap))
            continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
            continue;
        if (errno == EINVAL)
            return 0;
        return lade_error_sys(err, "cannot drop capability %u from the bounding set", cap);
    }
    return 0;
}

int
caps_set(uint64_t caps, struct lade_error *err)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {0};

    /* Inheritable stays empty: docker shipped it full until CVE-2022-24769, which let file
     * capabilities of an image's binaries reach an unprivileged user's process. */
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
        data[i].effective = (uint32_t)(caps >> (32 * i));
        data[i].permitted = (uint32_t)(caps >> (32 * i));
    }
    if (syscall(SYS_capset, &hdr, data) < 0)
        return lade_error_sys(err, "capset");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return lade_error_sys(err, "cannot clear ambient capabilities");
    return 0;
}
