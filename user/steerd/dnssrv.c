// SPDX-License-Identifier: GPL-2.0-only
/*
 * steerd's DNS sockets: TCP for every query (a TC=1 retry, a TCP-only
 * client), UDP for the queries the XDP program left to the stack.  Both
 * answer with ps_answer(), from the same maps and rules as the data plane.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "steerd.h"
#include "answer.h"
#include "log.h"

#define DNS_CONNS_MAX	512
#define TCP_BUF_MAX	(1 << 20)
#define UDP_BURST	64

static int open_sock(int family, int type, const void *addr, uint16_t port,
		     bool wildcard, char *err, size_t errlen)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int one = 1, fd;
	char a[INET6_ADDRSTRLEN];

	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		memcpy(&s->sin_addr, addr, 4);
		len = sizeof(*s);
		/* listen addresses may be VIPs configured later */
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
		if (wildcard && type == SOCK_DGRAM)
			setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		memcpy(&s->sin6_addr, addr, 16);
		len = sizeof(*s);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
		if (wildcard && type == SOCK_DGRAM)
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
				   sizeof(one));
	}
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) ||
	    (type == SOCK_STREAM && listen(fd, 128)))
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "Couldn't listen on %s#%u/%s: %s",
		 inet_ntop(family, addr, a, sizeof(a)), port,
		 type == SOCK_STREAM ? "tcp" : "udp", strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* ---- UDP: queries the XDP program passed ---------------------------- */

static void udp_ready(struct steerd *d, struct watch *w, uint32_t events)
{
	for (int i = 0; i < UDP_BURST; i++) {
		uint8_t q[65536], r[65536];
		char ctl[256];
		struct sockaddr_storage peer;
		struct iovec iov = { q, sizeof(q) };
		struct msghdr m = { .msg_name = &peer, .msg_namelen = sizeof(peer),
				    .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = ctl,
				    .msg_controllen = sizeof(ctl) };
		ssize_t n = recvmsg(w->fd, &m, 0);
		int len;

		if (n < 0)
			return;
		len = ps_answer(&d->maps, q, n, (struct sockaddr *)&peer, 0, r,
				sizeof(r));
		if (len <= 0)
			continue;
		/* reply from the address the query went to: the same
		 * control message names it */
		iov.iov_base = r;
		iov.iov_len = len;
		if (m.msg_controllen == 0)
			m.msg_control = NULL;
		for (struct cmsghdr *c = m.msg_control ? CMSG_FIRSTHDR(&m) : NULL;
		     c; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
				((struct in_pktinfo *)CMSG_DATA(c))->ipi_ifindex = 0;
		sendmsg(w->fd, &m, 0);
	}
}

/* ---- TCP ----------------------------------------------------------------- */

void dns_conn_ready(struct steerd *d, struct watch *w, uint32_t events)
{
	struct conn *c = (struct conn *)w;

	if (events & EPOLLOUT && conn_flush(d, c))
		return;
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	if (conn_read(d, c, TCP_BUF_MAX))
		return;
	/* RFC 7766: several queries per connection, each with a 2-byte
	 * length; answered in order */
	while (c->in_len >= 2) {
		size_t mlen = (c->in[0] << 8) | c->in[1];
		uint8_t r[2 + 65535];
		int len;

		if (mlen == 0) {
			conn_close(d, c);
			return;
		}
		if (c->in_len < 2 + mlen)
			break;
		len = ps_answer(&d->maps, c->in + 2, mlen,
				(struct sockaddr *)&c->peer, 1, r + 2,
				sizeof(r) - 2);
		memmove(c->in, c->in + 2 + mlen, c->in_len - 2 - mlen);
		c->in_len -= 2 + mlen;
		if (len <= 0)
			continue;
		r[0] = len >> 8;
		r[1] = len;
		if (conn_send(d, c, r, 2 + len))
			return;
	}
	conn_done(d, c);
}

static void tcp_accept(struct steerd *d, struct watch *w, uint32_t events)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd = accept4(w->fd, (struct sockaddr *)&peer, &len,
				 SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (d->n_dns_conns >= DNS_CONNS_MAX) {
			close(fd);
			continue;
		}
		conn_new(d, fd, 0, &peer, dns_conn_ready);
	}
}

static int add(struct steerd *d, int family, const void *addr, bool wildcard,
	       char *err, size_t errlen)
{
	int u, t;

	u = open_sock(family, SOCK_DGRAM, addr, d->conf.dns_port, wildcard,
		      err, errlen);
	if (u < 0)
		return -1;
	t = open_sock(family, SOCK_STREAM, addr, d->conf.dns_port, wildcard,
		      err, errlen);
	if (t < 0) {
		close(u);
		return -1;
	}
	d->dns_udp[d->n_udp] = (struct watch){ u, udp_ready };
	d->dns_tcp[d->n_tcp] = (struct watch){ t, tcp_accept };
	if (loop_add(d, &d->dns_udp[d->n_udp++], EPOLLIN) ||
	    loop_add(d, &d->dns_tcp[d->n_tcp++], EPOLLIN)) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int dns_open(struct steerd *d, char *err, size_t errlen)
{
	const struct ps_conf *c = &d->conf;

	if (!c->nlisten4 && !c->nlisten6) {
		struct in_addr any4 = { INADDR_ANY };

		if (add(d, AF_INET, &any4, true, err, errlen) ||
		    add(d, AF_INET6, &in6addr_any, true, err, errlen))
			return -1;
		return 0;
	}
	for (int i = 0; i < c->nlisten4; i++)
		if (add(d, AF_INET, &c->listen4[i], false, err, errlen))
			return -1;
	for (int i = 0; i < c->nlisten6; i++)
		if (add(d, AF_INET6, &c->listen6[i], false, err, errlen))
			return -1;
	return 0;
}

void dns_close(struct steerd *d)
{
	for (int i = 0; i < d->n_udp; i++)
		loop_del(d, &d->dns_udp[i]);
	for (int i = 0; i < d->n_tcp; i++)
		loop_del(d, &d->dns_tcp[i]);
	d->n_udp = d->n_tcp = 0;
}
