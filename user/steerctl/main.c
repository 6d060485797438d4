// SPDX-License-Identifier: GPL-2.0-only
/*
 * steerctl: the command line of steerd.
 *
 *   steerctl [OPTIONS] OBJECT { COMMAND | help }
 *
 * Changes and most views go to steerd over its control socket, one
 * request per connection (user/steerd/CONTROL.md); `stats show` and `prog
 * show` read the kernel directly, so they work while steerd is down.
 * Exit status: 0 success, 1 runtime error, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "conf.h"
#include "maps.h"
#include "steerctl.h"

#define NAMES_MAX	16

static const char usage_head[] =
	"Usage: steerctl [OPTIONS] OBJECT { COMMAND | help }\n"
	"       steerctl help\n"
	"OPTIONS := { -j|--json | -p|--pretty | -s|--socket PATH | -B|--bpffs DIR |\n"
	"             -h|--help | -V|--version }\n"
	"OBJECT := { status | zone | pool | server | name | vip | stats | prog }\n";

static const char usage_notes[] =
	"Words abbreviate to any unique prefix: steerctl po li, steerctl se a POOL ADDR w 5.\n"
	"N is a decimal number; steerd checks its range (ttl 0..2147483647, answers 1..8,\n"
	"weight 0..1000000, prefix4 0..32, prefix6 0..128).  zone set ns replaces the list.\n"
	"-j prints the reply's data as JSON (-p indented); a change prints null.  Errors\n"
	"go to stderr as \"Error: ...\", and with -j also to stdout as {\"error\": \"...\"}.\n"
	"-s defaults to $POPSTEER_SOCKET or " PS_CONTROL_SOCKET_DEFAULT ",\n"
	"-B to $POPSTEER_BPFFS or " PS_BPFFS_DEFAULT " (maps in DIR/" PS_PIN_SUBDIR ").\n"
	"Exit status: 0 done, 1 runtime error (steerd refused or is unreachable, no\n"
	"maps), 2 usage error (nothing was sent).\n";

/* "steerctl pool add POOL ..." with continuation lines under the first
 * argument */
static void syntax(const char *lead, const char *s)
{
	const char *sp = strchr(s, ' ');
	int indent = strlen(lead) + strlen("steerctl ");

	sp = sp ? strchr(sp + 1, ' ') : NULL;
	indent += sp ? sp - s + 1 : 0;
	printf("%ssteerctl ", lead);
	for (; *s; s++)
		if (*s == '\n')
			printf("\n%*s", indent, "");
		else
			putchar(*s);
	putchar('\n');
}

static void help_all(void)
{
	fputs(usage_head, stdout);
	putchar('\n');
	for (int o = 0; o < ctl_nobjs; o++)
		for (int i = 0; i < ctl_objs[o].ncmds; i++)
			syntax("  ", ctl_objs[o].cmds[i].syntax);
	putchar('\n');
	fputs(usage_notes, stdout);
}

static void help_obj(const struct obj *o)
{
	printf("Usage: steerctl %s {", o->name);
	for (int i = 0; i < o->ncmds; i++)
		printf(" %s |", o->cmds[i].name);
	printf(" help }\n");
	for (int i = 0; i < o->ncmds; i++)
		syntax("       ", o->cmds[i].syntax);
}

static void help_cmd(const struct cmd *cmd)
{
	syntax("Usage: ", cmd->syntax);
	if (cmd->kws && strstr(cmd->syntax, " N"))
		printf("N: a decimal number; steerd checks its range (steerctl help)\n");
	if (cmd->kws && strstr(cmd->syntax, " X]"))
		printf("X: a decimal fraction such as 0.25\n");
}

/* ---- dispatch --------------------------------------------------------------- */

static int execute(const struct ctx *c, const struct cmd *cmd, json_t *args)
{
	json_t *data = NULL;
	int rc;

	rc = cmd->local ? cmd->local(c, &data) :
			  ctl_request(c, cmd->rpc, args, &data);
	if (!rc && c->json)
		out_json(data);
	else if (!rc && cmd->print)
		cmd->print(data);
	json_decref(data);
	return rc;
}

static int run_cmd(const struct ctx *c, const struct obj *o,
		   const struct cmd *cmd, int argc, char **argv)
{
	json_t *args = json_object();
	char where[64];
	int rc;

	snprintf(where, sizeof(where), "%s %s", o->name, cmd->name);
	rc = parse_args(where, cmd, argc, argv, args);
	if (rc == -EAGAIN) {
		help_cmd(cmd);
		rc = 0;
	} else if (!rc) {
		rc = execute(c, cmd, args);
	}
	json_decref(args);
	return rc;
}

static int run_obj(const struct ctx *c, const struct obj *o, int argc,
		   char **argv)
{
	const char *names[NAMES_MAX];
	int n = 0, k;

	if (!argc)		/* like ip(8): the first command, a view */
		return run_cmd(c, o, &o->cmds[0], 0, argv);
	for (int i = 0; i < o->ncmds && n < NAMES_MAX - 1; i++)
		names[n++] = o->cmds[i].name;
	names[n++] = "help";
	k = match_word(o->name, "command", argv[0], names, n);
	if (k < 0)
		return k;
	if (k == n - 1) {
		help_obj(o);
		return 0;
	}
	return run_cmd(c, o, &o->cmds[k], argc - 1, argv + 1);
}

static int dispatch(const struct ctx *c, int argc, char **argv)
{
	const char *names[NAMES_MAX];
	int n = 0, k;

	if (!argc)
		return usage_err("missing OBJECT (steerctl help)");
	for (int i = 0; i < ctl_nobjs && n < NAMES_MAX - 1; i++)
		names[n++] = ctl_objs[i].name;
	names[n++] = "help";
	k = match_word("steerctl", "object", argv[0], names, n);
	if (k < 0)
		return k;
	if (k == n - 1) {
		help_all();
		return 0;
	}
	return run_obj(c, &ctl_objs[k], argc - 1, argv + 1);
}

/* ---- options ----------------------------------------------------------------- */

static const char *env_or(const char *var, const char *def)
{
	const char *v = getenv(var);

	return v && v[0] ? v : def;
}

static void version(const struct ctx *c)
{
	if (c->json) {
		json_t *j = json_pack("{s:s, s:s}", "version", STEERCTL_VERSION,
				      "libbpf", libbpf_version_string());

		out_json(j);
		json_decref(j);
		return;
	}
	printf("steerctl %s (libbpf %s)\n", STEERCTL_VERSION,
	       libbpf_version_string());
}

/* Options anywhere on the line (bpftool style; "--" ends them).
 * Returns 0 to go on, 1 when done (help, version), or -EINVAL. */
static int options(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "bpffs", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	int opt, help = 0, ver = 0;
	char bad[64] = "";

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "jps:B:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': c->pretty = c->json = true; break;
		case 'j': c->json = true; break;
		case 's': c->sock = optarg; break;
		case 'B': c->bpffs = optarg; break;
		case 'h': help = 1; break;
		case 'V': ver = 1; break;
		default:
			if (!bad[0])
				snprintf(bad, sizeof(bad), "%s", argv[optind - 1]);
		}
	}
	out_init(c);		/* errors know about -j from here on */
	if (bad[0])
		return usage_err("unknown option or missing value: '%s' (steerctl help)",
				 bad);
	if (help)
		help_all();
	else if (ver)
		version(c);
	return help || ver;
}

int main(int argc, char **argv)
{
	struct ctx c = {
		.sock = env_or("POPSTEER_SOCKET", PS_CONTROL_SOCKET_DEFAULT),
		.bpffs = env_or("POPSTEER_BPFFS", PS_BPFFS_DEFAULT),
	};
	int rc;

	libbpf_set_print(NULL);
	rc = options(&c, argc, argv);
	if (!rc)
		rc = dispatch(&c, argc - optind, argv + optind);
	if (rc < 0 && !error_reported())
		fail(rc, "%s", strerror(-rc));
	if (fflush(stdout) && !rc)
		rc = fail(-EIO, "Couldn't write the output: %s", strerror(errno));
	return rc > 0 ? 0 : rc < 0 ? (usage_failed() ? 2 : 1) : 0;
}
