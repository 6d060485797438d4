// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <bpf/libbpf.h>

#include "log.h"

static int log_level = PS_LOG_INFO;
static int use_syslog;

void ps_log_set_level(int level)
{
	log_level = level;
}

int ps_log_get_level(void)
{
	return log_level;
}

void ps_log_syslog(const char *ident)
{
	if (ident) {
		openlog(ident, LOG_PID, LOG_DAEMON);
		use_syslog = 1;
	}
}

static const char *const prefix[] = {
	[PS_LOG_ERR] = "error: ",
	[PS_LOG_WARN] = "warning: ",
	[PS_LOG_INFO] = "",
	[PS_LOG_DEBUG] = "debug: ",
	[PS_LOG_DEBUG_LIBBPF] = "debug: ",
};

static const int sysprio[] = {
	[PS_LOG_ERR] = LOG_ERR,
	[PS_LOG_WARN] = LOG_WARNING,
	[PS_LOG_INFO] = LOG_INFO,
	[PS_LOG_DEBUG] = LOG_DEBUG,
	[PS_LOG_DEBUG_LIBBPF] = LOG_DEBUG,
};

static void vlog(int level, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n;

	if (level > log_level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	fprintf(stderr, "%s%s\n", prefix[level], buf);
	if (use_syslog)
		syslog(sysprio[level], "%s", buf);
}

void ps_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	int ours = level == LIBBPF_WARN ? PS_LOG_WARN :
		   level == LIBBPF_INFO ? PS_LOG_DEBUG : PS_LOG_DEBUG_LIBBPF;

	vlog(ours, fmt, ap);
	return 0;
}

void ps_log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
