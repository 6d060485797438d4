/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef PS_LOG_H
#define PS_LOG_H

#include <stdarg.h>

enum ps_log_level { PS_LOG_ERR, PS_LOG_WARN, PS_LOG_INFO, PS_LOG_DEBUG,
		    PS_LOG_DEBUG_LIBBPF };

/* Messages at or below this level are printed (default PS_LOG_INFO). */
void ps_log_set_level(int level);
int ps_log_get_level(void);
/* Also send messages to syslog under ident (NULL: stderr only). */
void ps_log_syslog(const char *ident);
/* Route libbpf's messages into ours (debug output only at -vv). */
void ps_log_route_libbpf(void);

void ps_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_err(...)	ps_log(PS_LOG_ERR, __VA_ARGS__)
#define pr_warn(...)	ps_log(PS_LOG_WARN, __VA_ARGS__)
#define pr_info(...)	ps_log(PS_LOG_INFO, __VA_ARGS__)
#define pr_debug(...)	ps_log(PS_LOG_DEBUG, __VA_ARGS__)

#endif
