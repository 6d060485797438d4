// SPDX-License-Identifier: GPL-2.0-only
/* The epoll set and buffered stream connections. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "steerd.h"
#include "log.h"

#define CTL_IDLE_S	300
#define DNS_IDLE_S	10	/* RFC 7766: servers may close idle TCP */
#define OUT_MAX		(4 << 20)	/* a client that does not read */

int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int loop_add(struct steerd *d, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, w->fd, &ev);
}

int loop_mod(struct steerd *d, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(d->epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

void loop_del(struct steerd *d, struct watch *w)
{
	if (w->fd >= 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, w->fd, NULL);
		close(w->fd);
		w->fd = -1;
	}
}

struct conn *conn_new(struct steerd *d, int fd, int ctl,
		      const struct sockaddr_storage *peer,
		      void (*fn)(struct steerd *, struct watch *, uint32_t))
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c || set_nonblock(fd) ||
	    (c->w.fd = fd, c->w.fn = fn, loop_add(d, &c->w, EPOLLIN))) {
		free(c);
		close(fd);
		return NULL;
	}
	c->ctl = ctl;
	c->last = time(NULL);
	if (peer)
		c->peer = *peer;
	c->next = d->conns;
	d->conns = c;
	if (!ctl)
		d->n_dns_conns++;
	return c;
}

void conn_close(struct steerd *d, struct conn *c)
{
	for (struct conn **p = &d->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	if (!c->ctl)
		d->n_dns_conns--;
	loop_del(d, &c->w);
	free(c->in);
	free(c->out);
	free(c);
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap : 4096;
	uint8_t *p;

	while (ncap < need)
		ncap *= 2;
	if (ncap == *cap)
		return 0;
	p = realloc(*buf, ncap);
	if (!p)
		return -1;
	*buf = p;
	*cap = ncap;
	return 0;
}

int conn_flush(struct steerd *d, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->w.fd, c->out + c->out_off,
				  c->out_len - c->out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return loop_mod(d, &c->w, EPOLLIN | EPOLLOUT) ? -1 : 0;
		if (n <= 0) {
			conn_close(d, c);
			return -1;
		}
		c->out_off += n;
		c->last = time(NULL);
	}
	c->out_off = c->out_len = 0;
	/* a peer that stopped sending has had every reply now */
	if (c->closing) {
		conn_close(d, c);
		return -1;
	}
	loop_mod(d, &c->w, EPOLLIN);
	return 0;
}

int conn_send(struct steerd *d, struct conn *c, const void *buf, size_t len)
{
	if (c->out_len + len > OUT_MAX ||
	    grow(&c->out, &c->out_cap, c->out_len + len)) {
		conn_close(d, c);
		return -1;
	}
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	return conn_flush(d, c);
}

int conn_read(struct steerd *d, struct conn *c, size_t max)
{
	for (;;) {
		ssize_t n;

		if (c->in_len >= max) {
			pr_warn("%s client sent more than %zu bytes unanswered; closing",
				c->ctl ? "control" : "DNS/TCP", max);
			conn_close(d, c);
			return -1;
		}
		if (grow(&c->in, &c->in_cap, c->in_len + 4096)) {
			conn_close(d, c);
			return -1;
		}
		n = read(c->w.fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n == 0) {
			/* answer what came before the end: conn_done() */
			c->eof = true;
			return 0;
		}
		if (n < 0) {
			conn_close(d, c);
			return -1;
		}
		c->in_len += n;
		c->last = time(NULL);
	}
}

void conn_done(struct steerd *d, struct conn *c)
{
	if (!c->eof)
		return;
	if (c->out_off == c->out_len) {
		conn_close(d, c);
	} else {
		c->closing = true;
		loop_mod(d, &c->w, EPOLLOUT);
	}
}

void conn_sweep(struct steerd *d, time_t now)
{
	struct conn *c = d->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (now - c->last > (c->ctl ? CTL_IDLE_S : DNS_IDLE_S))
			conn_close(d, c);
	}
}
