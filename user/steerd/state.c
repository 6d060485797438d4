// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>

#include "state.h"
#include "tree.h"

#define HEADER "# popsteer runtime state v1 crc32=%08lx length=%zu\n"
#define STATE_MAX (64 << 20)

static const char *const keys[] = { "zones", "pools", "names", "vips",
	"deleted_zones", "deleted_pools", "deleted_names", "deleted_vips", NULL };

static int read_all(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t cap = 0, n;
	char *p = NULL;

	if (!f)
		return -errno;
	*len = 0;
	do {
		if (*len + 4096 > cap) {
			char *q;

			cap = cap ? cap * 2 : 65536;
			if (cap > STATE_MAX || !(q = realloc(p, cap + 1))) {
				free(p);
				fclose(f);
				return -EFBIG;
			}
			p = q;
		}
		n = fread(p + *len, 1, cap - *len, f);
		*len += n;
	} while (n);
	fclose(f);
	p[*len] = 0;
	*buf = p;
	return 0;
}

int ps_state_load(const char *path, config_t *overlay, char *err,
		  size_t errlen)
{
	char *buf = NULL, *body;
	unsigned long crc;
	size_t len = 0, blen;
	int rc;

	ps_overlay_init(overlay);
	rc = read_all(path, &buf, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return -1;
	}
	body = memchr(buf, '\n', len);
	if (!body || sscanf(buf, HEADER, &crc, &blen) != 2) {
		snprintf(err, errlen, "%s: not a popsteer state file (bad header)", path);
		goto bad;
	}
	body++;
	if ((size_t)(buf + len - body) != blen) {
		snprintf(err, errlen, "%s: truncated or extended: %zu body bytes, header says %zu",
			 path, (size_t)(buf + len - body), blen);
		goto bad;
	}
	if (crc32(0, (const Bytef *)body, blen) != crc) {
		snprintf(err, errlen, "%s: corrupted: CRC-32 %08lx, header says %08lx",
			 path, crc32(0, (const Bytef *)body, blen), crc);
		goto bad;
	}
	if (!config_read_string(overlay, body)) {
		snprintf(err, errlen, "%s:%d: %s", path,
			 config_error_line(overlay) + 1, config_error_text(overlay));
		goto bad;
	}
	for (int i = 0; i < config_setting_length(config_root_setting(overlay)); i++) {
		const char *k = config_setting_name(
			config_setting_get_elem(config_root_setting(overlay), i));
		int ok = 0;

		for (const char *const *a = keys; *a; a++)
			ok |= !strcmp(k, *a);
		if (!ok) {
			snprintf(err, errlen, "%s: unknown setting '%s'", path, k);
			goto bad;
		}
	}
	free(buf);
	return 0;
bad:
	free(buf);
	config_destroy(overlay);
	ps_overlay_init(overlay);
	return -1;
}

int ps_state_save(const char *path, const config_t *overlay, char *err,
		  size_t errlen)
{
	char tmp[4096], dir[4096], *body = NULL;
	size_t blen = 0;
	FILE *mem, *f;
	int fd, dfd, rc = -1;

	mem = open_memstream(&body, &blen);
	if (!mem) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	fputs("# written by steerd: runtime changes on top of the config file\n", mem);
	config_write(overlay, mem);
	fclose(mem);

	snprintf(dir, sizeof(dir), "%s", path);
	mkdir(dirname(dir), 0700);	/* /var/lib/popsteer on first use */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "Couldn't write %s: %s", tmp, strerror(errno));
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f || fprintf(f, HEADER, crc32(0, (const Bytef *)body, blen), blen) < 0 ||
	    fwrite(body, 1, blen, f) != blen || fflush(f) || fsync(fd)) {
		snprintf(err, errlen, "Couldn't write %s: %s", tmp, strerror(errno));
		if (f)
			fclose(f);
		else
			close(fd);
		unlink(tmp);
		goto out;
	}
	fclose(f);
	if (rename(tmp, path)) {
		snprintf(err, errlen, "Couldn't rename %s to %s: %s", tmp, path,
			 strerror(errno));
		unlink(tmp);
		goto out;
	}
	/* the rename itself must survive a crash */
	snprintf(dir, sizeof(dir), "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	free(body);
	return rc;
}
