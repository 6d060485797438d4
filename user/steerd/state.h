/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The runtime state file: steerd's overlay of changes made through the
 * control socket (see user/lib/tree.h), written atomically after each
 * change and read back at start.  A header line carries the length and
 * CRC-32 of the body, so a truncated or corrupted file is refused whole,
 * never half applied.
 */
#ifndef PS_STATE_H
#define PS_STATE_H

#include <stddef.h>
#include <libconfig.h>

/* Read path into overlay (initialised here).  A missing file is an empty
 * overlay.  Returns 0, or -1 with a message. */
int ps_state_load(const char *path, config_t *overlay, char *err,
		  size_t errlen);
/* Write overlay to path: temp file, fsync, rename, fsync of the directory. */
int ps_state_save(const char *path, const config_t *overlay, char *err,
		  size_t errlen);

#endif
