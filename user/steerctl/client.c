// SPDX-License-Identifier: GPL-2.0-only
/*
 * One request to steerd per connection: connect, send one JSON line, read
 * one reply line (user/steerd/CONTROL.md), all within CTL_TIMEOUT_S.
 * The write side is not shut down before the reply: steerd drops a
 * connection as soon as it reads EOF.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "steerctl.h"

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static int timed_out(void)
{
	return fail(-ETIMEDOUT, "steerd did not reply within %d s",
		    CTL_TIMEOUT_S);
}

static int open_socket(const char *path, int *fdp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CTL_TIMEOUT_S };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path))
		return fail(-ENAMETOOLONG, "socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(-errno, "socket: %s", strerror(errno));
	/* a blocking connect to a steerd that does not accept (stopped,
	 * backlog full) gives up after SO_SNDTIMEO */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		e = errno;
		close(fd);
		if (e == EAGAIN || e == EINPROGRESS)
			return timed_out();
		return fail(-e, "Couldn't connect to steerd at %s: %s%s", path,
			    strerror(e), e == ENOENT || e == ECONNREFUSED ?
			    " (is steerd running?)" : "");
	}
	*fdp = fd;
	return 0;
}

static int send_line(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return timed_out();
		if (n < 0)
			return fail(-errno, "Couldn't send to steerd: %s",
				    strerror(errno));
		buf += n;
		len -= n;
	}
	return 0;
}

/* Room for at least want more bytes after len in *buf. */
static int grow(char **buf, size_t *cap, size_t len, size_t want)
{
	size_t n = *cap ? *cap : 65536;
	char *p;

	while (n < len + want)
		n *= 2;
	if (n == *cap)
		return 0;
	p = realloc(*buf, n);
	if (!p)
		return fail(-ENOMEM, "out of memory");
	*buf = p;
	*cap = n;
	return 0;
}

static int wait_readable(int fd, const struct timespec *deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long left = ms_left(deadline);

	return left > 0 && poll(&pfd, 1, left) > 0 ? 0 : timed_out();
}

/* The reply line, NUL-terminated in *out (the caller frees it). */
static int read_line(int fd, const struct timespec *deadline, char **out)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nl;
	ssize_t n;
	int rc;

	for (;;) {
		rc = wait_readable(fd, deadline);
		if (!rc)
			rc = grow(&buf, &cap, len, 65536 + 1);
		if (rc)
			break;
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n ? fail(-errno, "Couldn't read from steerd: %s",
				      strerror(errno)) :
				 fail(-ECONNRESET, "steerd closed the connection without replying");
			break;
		}
		nl = memchr(buf + len, '\n', n);
		len += n;
		if (nl) {
			*nl = 0;
			*out = buf;
			return 0;
		}
	}
	free(buf);
	return rc;
}

/* {"ok": true, "data": ...} or {"ok": false, "error": "..."} */
static int decode(const char *line, json_t **data)
{
	json_t *rep = json_loads(line, 0, NULL), *ok, *err;
	int rc = 0;

	ok = json_object_get(rep, "ok");
	err = json_object_get(rep, "error");
	if (!json_is_boolean(ok))
		rc = fail(-EPROTO, "steerd sent a malformed reply: %.200s", line);
	else if (!json_is_true(ok))
		rc = fail(-EREMOTEIO, "%s", json_is_string(err) ?
			  json_string_value(err) : "steerd refused (no reason given)");
	else if (data)
		*data = json_incref(json_object_get(rep, "data"));
	json_decref(rep);
	return rc;
}

int ctl_request(const struct ctx *c, const char *cmd, json_t *args,
		json_t **data)
{
	json_t *req = json_pack("{s:s, s:O}", "cmd", cmd, "args", args);
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL, *line = NULL;
	struct timespec deadline;
	int fd = -1, rc;

	json_decref(req);
	if (!text)
		return fail(-ENOMEM, "out of memory");
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += CTL_TIMEOUT_S;
	rc = open_socket(c->sock, &fd);
	if (!rc) {
		size_t len = strlen(text);

		text[len] = '\n';	/* the NUL: sent by length, not as a string */
		rc = send_line(fd, text, len + 1);
	}
	if (!rc)
		rc = read_line(fd, &deadline, &line);
	if (!rc)
		rc = decode(line, data);
	if (fd >= 0)
		close(fd);
	free(text);
	free(line);
	return rc;
}
