// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor of HTTP probing on this machine: what the least a prober can
 * do costs -- N kept-alive connections, one small GET each per second,
 * raw sockets on epoll, no parsing beyond "a reply came".  Its CPU
 * (user + system, % of one core) is what tests/bench/probes.sh compares
 * steerd's probe engine to, on the same servers in the same run.
 *
 *   bench_probefloor [-n SERVERS] [-d SECONDS] [-b FIRST_ADDRESS]
 *
 * Servers are FIRST_ADDRESS (198.19.0.1) and on, 250 per /24, port 80.
 * Prints "probe_floor_cpu_pct_N: X %" and the replies counted on stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_SERVERS 4096

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	static const char req[] = "GET /health HTTP/1.1\r\nHost: origin\r\n"
				  "User-Agent: probefloor\r\nAccept: */*\r\n\r\n";
	static int fd[MAX_SERVERS];
	static int64_t due[MAX_SERVERS];
	static char busy[MAX_SERVERS];
	int n = 1000, secs = 20, ep, opt;
	const char *first = "198.19.0.1";
	struct in_addr base;
	long replies = 0, lost = 0;
	double c0;
	int64_t t0, end;

	while ((opt = getopt(argc, argv, "n:d:b:")) != -1) {
		switch (opt) {
		case 'n': n = atoi(optarg); break;
		case 'd': secs = atoi(optarg); break;
		case 'b': first = optarg; break;
		default:
			fprintf(stderr, "usage: bench_probefloor [-n SERVERS] [-d SECONDS] [-b ADDR]\n");
			return 2;
		}
	}
	if (n < 1 || n > MAX_SERVERS || secs < 1 || secs > 600 ||
	    inet_pton(AF_INET, first, &base) != 1) {
		fprintf(stderr, "bench_probefloor: bad arguments\n");
		return 2;
	}
	ep = epoll_create1(0);
	for (int i = 0; i < n; i++) {
		uint32_t a = ntohl(base.s_addr);
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80) };
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

		/* 250 addresses per /24: .1 to .250 */
		a = (a & 0xffff0000) | ((i / 250 + ((a >> 8) & 0xff)) << 8) | (i % 250 + 1);
		sa.sin_addr.s_addr = htonl(a);
		fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd[i] < 0 || connect(fd[i], (struct sockaddr *)&sa, sizeof(sa))) {
			fprintf(stderr, "bench_probefloor: connect %s: %s\n",
				inet_ntoa(sa.sin_addr), strerror(errno));
			return 1;
		}
		fcntl(fd[i], F_SETFL, O_NONBLOCK);
		epoll_ctl(ep, EPOLL_CTL_ADD, fd[i], &ev);
	}
	t0 = now_ms();
	for (int i = 0; i < n; i++)	/* spread over the first second */
		due[i] = t0 + (int64_t)i * 1000 / n;
	c0 = cpu_s();
	end = t0 + secs * 1000LL;
	while (now_ms() < end) {
		struct epoll_event ev[64];
		int64_t t = now_ms(), next = 1000;
		int k;

		for (int i = 0; i < n; i++) {
			if (due[i] <= t) {
				lost += busy[i];	/* no reply within a second */
				if (send(fd[i], req, sizeof(req) - 1, MSG_NOSIGNAL) < 0)
					lost++;
				busy[i] = 1;
				due[i] += 1000;
			}
			if (due[i] - t < next)
				next = due[i] - t;
		}
		k = epoll_wait(ep, ev, 64, next < 0 ? 0 : (int)next);
		for (int e = 0; e < k; e++) {
			int i = ev[e].data.u32;
			char buf[4096];

			if (recv(fd[i], buf, sizeof(buf), 0) > 0 && busy[i]) {
				busy[i] = 0;
				replies++;
			}
		}
	}
	fprintf(stderr, "bench_probefloor: %d servers, %ld replies in %d s, %ld lost\n",
		n, replies, secs, lost);
	printf("probe_floor_cpu_pct_%d: %.2f %%\n", n,
	       100 * (cpu_s() - c0) / ((now_ms() - t0) / 1000.0));
	return lost > replies / 100 ? 1 : 0;
}
