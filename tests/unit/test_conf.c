// SPDX-License-Identifier: GPL-2.0-only
/* Config parsing: a valid file, its defaults, and one message per mistake. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "unit.h"
#include "conf.h"

#define ZONE \
	"zones = ( { name = \"shop.example\";\n" \
	"  soa = { mname = \"ns1.shop.example\"; rname = \"hostmaster@shop.example\"; };\n" \
	"  ns = [ \"ns1.shop.example\" ]; } );\n"
#define POOL \
	"pools = ( { name = \"p\"; servers = ( { address = \"198.18.1.1\"; } ); } );\n"
#define IFACE "interfaces = [ \"eth0\" ];\n"

static void t_valid(void)
{
	const char *text =
		"# comment\n"
		"interfaces = [ \"eth0\", \"eth1\" ];\n"
		"xdp_mode = \"skb\";\n"
		"bpffs = \"/run/x\";\n"
		"dns = { port = 5353; listen = [ \"198.18.0.1\", \"2001:2::1\" ]; edns_udp_size = 1400; };\n"
		"zones = ( { name = \"Shop.Example.\"; ttl = 100;\n"
		"  soa = { mname = \"ns1.shop.example\"; rname = \"h.shop.example\"; serial = 5;\n"
		"          refresh = 1; retry = 2; expire = 3; minimum = 4; };\n"
		"  ns = [ \"ns1.shop.example\", \"ns.other.example\" ]; } );\n"
		"pools = ( { name = \"origins\"; answers = 2; select = \"hash\"; hash_prefix4 = 16;\n"
		"  hash_prefix6 = 48; ttl = 10;\n"
		"  servers = ( { address = \"198.18.1.1\"; weight = 5; }, { address = \"2001:2:1::1\"; } ); } );\n"
		"names = ( { name = \"WWW.shop.example\"; pool = \"origins\"; },\n"
		"          { name = \"api.shop.example\"; pool = \"origins\"; ttl = 77; } );\n";
	struct ps_conf c;
	char err[PS_ERR_MAX];
	char text_name[300];

	CHECK(!ps_conf_load_string(&c, text, "t.conf", err, sizeof(err)),
	      "valid config rejected: %s", err);
	if (ps_chk.failed)
		return;
	CHECK_EQ(c.nifaces, 2);
	CHECK(!strcmp(c.ifaces[1], "eth1"), "iface");
	CHECK_EQ(c.xdp_mode, PS_XDP_SKB);
	CHECK(!strcmp(c.bpffs, "/run/x"), "bpffs");
	CHECK_EQ(c.dns_port, 5353);
	CHECK_EQ(c.edns_size, 1400);
	CHECK_EQ(c.nlisten4, 1);
	CHECK_EQ(c.nlisten6, 1);
	CHECK_EQ(c.nzones, 1);
	CHECK_EQ(c.zones[0].apex.labels, 2);
	/* names are stored lower-cased */
	CHECK(!memcmp(c.zones[0].apex.wire, "\x04shop\x07" "example", 14),
	      "apex not lower-cased");
	CHECK_EQ(c.zones[0].ttl, 100);
	CHECK_EQ(c.zones[0].serial, 5);
	CHECK_EQ(c.zones[0].minimum, 4);
	CHECK_EQ(c.zones[0].nns, 2);
	CHECK_EQ(c.npools, 1);
	CHECK_EQ(c.pools[0].answers, 2);
	CHECK_EQ(c.pools[0].mode, PS_SEL_HASH);
	CHECK_EQ(c.pools[0].prefix4, 16);
	CHECK_EQ(c.pools[0].prefix6, 48);
	CHECK_EQ(c.pools[0].nservers, 2);
	CHECK_EQ(c.pools[0].servers[0].weight, 5);
	CHECK_EQ(c.pools[0].servers[1].weight, 100);	/* default */
	CHECK_EQ(c.pools[0].servers[1].addr.family, AF_INET6);
	CHECK_EQ(c.nnames, 2);
	CHECK_EQ(c.names[0].ttl, 10);			/* pool's */
	CHECK_EQ(c.names[1].ttl, 77);
	CHECK_EQ(c.names[0].zone, 0);
	ps_dname_to_text(&c.names[0].name, text_name, sizeof(text_name));
	CHECK(!strcmp(text_name, "www.shop.example"), "name text %s", text_name);
	ps_conf_free(&c);
}

static void t_defaults(void)
{
	struct ps_conf c;
	char err[PS_ERR_MAX];

	CHECK(!ps_conf_load_string(&c, IFACE ZONE POOL, "t.conf", err,
				   sizeof(err)), "rejected: %s", err);
	if (ps_chk.failed)
		return;
	CHECK_EQ(c.dns_port, 53);
	CHECK_EQ(c.edns_size, 1232);
	CHECK_EQ(c.xdp_mode, PS_XDP_AUTO);
	CHECK(!strcmp(c.bpffs, "/sys/fs/bpf"), "bpffs default");
	CHECK_EQ(c.nlisten4 + c.nlisten6, 0);
	CHECK_EQ(c.zones[0].ttl, 3600);
	CHECK_EQ(c.zones[0].refresh, 3600);
	CHECK_EQ(c.zones[0].minimum, 60);
	CHECK_EQ(c.pools[0].answers, 1);
	CHECK_EQ(c.pools[0].mode, PS_SEL_RANDOM);
	CHECK_EQ(c.pools[0].ttl, 30);
	CHECK_EQ(c.pools[0].prefix4, 24);
	CHECK_EQ(c.pools[0].prefix6, 56);
	/* rname user@domain became a mailbox name */
	CHECK(!memcmp(c.zones[0].rname.wire, "\x0ahostmaster\x04shop", 16),
	      "rname @ not converted");
	ps_conf_free(&c);
}

/* Each mistake, the line it is reported at, and words of the message. */
static const struct {
	const char *what, *text, *expect;
} bad[] = {
	{ "syntax", IFACE "dns = { port = = 53; };\n" ZONE, "t.conf:2: syntax error" },
	{ "unknown_top", IFACE "colour = 1;\n" ZONE, "t.conf:2: unknown setting 'colour' in the top level" },
	{ "no_interfaces", ZONE POOL, "'interfaces' is required" },
	{ "iface_twice", "interfaces = [ \"a\", \"a\" ];\n" ZONE, "t.conf:1: interface 'a' listed twice" },
	{ "iface_long", "interfaces = [ \"abcdefghijklmnopq\" ];\n" ZONE, "bad interface name" },
	{ "xdp_mode", IFACE "xdp_mode = \"fast\";\n" ZONE, "t.conf:2: xdp_mode must be \"auto\", \"native\" or \"skb\"" },
	{ "port_range", IFACE "dns = { port = 70000; };\n" ZONE, "t.conf:2: dns: 'port' = 70000 is out of range [1, 65535]" },
	{ "port_type", IFACE "dns = { port = \"53\"; };\n" ZONE, "t.conf:2: dns: 'port' must be an integer" },
	{ "edns_small", IFACE "dns = { edns_udp_size = 100; };\n" ZONE, "'edns_udp_size' = 100 is out of range [512, 4096]" },
	{ "listen_bad", IFACE "dns = { listen = [ \"1.2.3\" ]; };\n" ZONE, "t.conf:2: dns.listen: '1.2.3' is not an IPv4 or IPv6 address" },
	{ "unknown_dns", IFACE "dns = { prot = 53; };\n" ZONE, "unknown setting 'prot' in dns" },
	{ "no_zones", IFACE POOL, "'zones' is required" },
	{ "zone_no_soa", IFACE "zones = ( { name = \"a.example\"; ns = [\"ns.a.example\"]; } );\n", "zone 'a.example': 'soa' group is required" },
	{ "zone_no_ns", IFACE "zones = ( { name = \"a.example\"; soa = { mname = \"m.a.example\"; rname = \"r.a.example\"; }; } );\n", "zone 'a.example': 'ns' is required" },
	{ "zone_bad_name", IFACE "zones = ( { name = \"a..example\"; } );\n", "t.conf:2: zone: bad name 'a..example': Empty label" },
	{ "zone_bad_char", IFACE "zones = ( { name = \"shop example\"; } );\n", "bad name 'shop example': character ' '" },
	{ "zone_wildcard", IFACE "zones = ( { name = \"*.example\"; } );\n", "character '*'" },
	{ "zone_root", IFACE "zones = ( { name = \".\"; soa = { mname = \"m\"; rname = \"r\"; }; ns = [\"n\"]; } );\n", "the root zone cannot be served" },
	{ "zone_twice", IFACE "zones = ( { name = \"a.example\"; soa = { mname = \"m.a.example\"; rname = \"r.a.example\"; }; ns = [\"n.a.example\"]; },\n { name = \"A.example\"; soa = { mname = \"m.a.example\"; rname = \"r.a.example\"; }; ns = [\"n.a.example\"]; } );\n", "t.conf:3: zone 'A.example' is defined twice" },
	{ "label_long", IFACE "zones = ( { name = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example\"; } );\n", "Label length overflow" },
	{ "serial_range", IFACE "zones = ( { name = \"a.example\"; soa = { mname = \"m.a.example\"; rname = \"r.a.example\"; serial = -1; }; ns = [\"n.a.example\"]; } );\n", "'serial' = -1 is out of range" },
	{ "ttl_range", IFACE "zones = ( { name = \"a.example\"; ttl = 2147483648L; soa = { mname = \"m.a.example\"; rname = \"r.a.example\"; }; ns = [\"n.a.example\"]; } );\n", "'ttl' = 2147483648 is out of range [0, 2147483647]" },
	{ "ns_twice", IFACE "zones = ( { name = \"a.example\"; soa = { mname = \"m.a.example\"; rname = \"r.a.example\"; }; ns = [\"n.a.example\", \"N.a.example\"]; } );\n", "name server 'N.a.example' listed twice" },
	{ "vip_no_pool", IFACE ZONE POOL "vips = ( { name = \"v\"; address = \"198.18.100.1\"; port = 80; pool = \"q\"; } );\n", "t.conf:6: vip 'v': no pool named 'q'" },
	{ "vip_bad_addr", IFACE ZONE POOL "vips = ( { name = \"v\"; address = \"198.18.100\"; port = 80; pool = \"p\"; } );\n", "t.conf:6: vip 'v': '198.18.100' is not an IPv4 or IPv6 address" },
	{ "vip_port", IFACE ZONE POOL "vips = ( { name = \"v\"; address = \"198.18.100.1\"; port = 0; pool = \"p\"; } );\n", "'port' = 0 is out of range [1, 65535]" },
	{ "vip_no_port", IFACE ZONE POOL "vips = ( { name = \"v\"; address = \"198.18.100.1\"; pool = \"p\"; } );\n", "vip 'v': 'port' is required" },
	{ "vip_proto", IFACE ZONE POOL "vips = ( { name = \"v\"; address = \"198.18.100.1\"; port = 80; protocol = \"sctp\"; pool = \"p\"; } );\n", "t.conf:6: vip 'v': protocol must be" },
	{ "vip_mode", IFACE ZONE POOL "vips = ( { name = \"v\"; address = \"198.18.100.1\"; port = 80; mode = \"nat\"; pool = \"p\"; } );\n", "t.conf:6: vip 'v': mode must be" },
	{ "vip_table_prime", IFACE ZONE POOL "vips = ( { name = \"v\"; address = \"198.18.100.1\"; port = 80; table_size = 65536; pool = \"p\"; } );\n", "table_size 65536 is not a prime" },
	{ "vip_ipip_no_source", IFACE ZONE POOL "vips = ( { name = \"v\"; address = \"198.18.100.1\"; port = 80; mode = \"ipip\"; pool = \"p\"; } );\n", "t.conf:6: vip 'v': ipip needs lb.ipip_source4" },
	{ "vip_twice", IFACE ZONE POOL "vips = ( { name = \"v\"; address = \"198.18.100.1\"; port = 80; pool = \"p\"; },\n { name = \"v\"; address = \"198.18.100.2\"; port = 80; pool = \"p\"; } );\n", "t.conf:7: vip 'v' is defined twice" },
	{ "vip_same_service", IFACE ZONE POOL "vips = ( { name = \"v\"; address = \"198.18.100.1\"; port = 80; pool = \"p\"; },\n { name = \"w\"; address = \"198.18.100.1\"; port = 80; pool = \"p\"; } );\n", "t.conf:7: vip 'w': the same address, port and protocol as vip 'v'" },
	{ "vip_dns_port", IFACE "dns = { listen = [ \"198.18.0.1\" ]; };\n" ZONE POOL "vips = ( { name = \"v\"; address = \"198.18.0.1\"; port = 53; protocol = \"udp\"; pool = \"p\"; } );\n", "UDP port 53 of a DNS listen address is answered as DNS" },
	{ "vip_unknown_key", IFACE ZONE POOL "vips = ( { name = \"v\"; address = \"198.18.100.1\"; port = 80; pool = \"p\"; weight = 1; } );\n", "unknown setting 'weight' in vip" },
	{ "lb_not_group", IFACE ZONE "lb = 5;\n", "t.conf:5: 'lb' must be a group" },
	{ "lb_flow_table", IFACE ZONE "lb = { flow_table_size = 10; };\n", "'flow_table_size' = 10 is out of range" },
	{ "lb_source4", IFACE ZONE "lb = { ipip_source4 = \"198.18.250.0/33\"; };\n", "lb: ipip_source4 '198.18.250.0/33' is not an IPv4 prefix" },
	{ "lb_source6", IFACE ZONE "lb = { ipip_source6 = \"198.18.250.0/24\"; };\n", "lb: ipip_source6 '198.18.250.0/24' is not an IPv6 prefix" },
	{ "server_mac", IFACE ZONE "pools = ( { name = \"p\"; servers = ( { address = \"198.18.1.1\"; mac = \"02:00:00:00:01\"; } ); } );\n", "t.conf:5: pool 'p': mac '02:00:00:00:01' is not a MAC address (aa:bb:cc:dd:ee:ff)" },
	{ "pool_no_name", IFACE ZONE "pools = ( { answers = 1; } );\n", "pool: 'name' is required" },
	{ "pool_bad_name", IFACE ZONE "pools = ( { name = \"a b\"; } );\n", "t.conf:5: pool name 'a b'" },
	{ "pool_twice", IFACE ZONE "pools = ( { name = \"p\"; }, { name = \"p\"; } );\n", "pool 'p' is defined twice" },
	{ "pool_answers", IFACE ZONE "pools = ( { name = \"p\"; answers = 9; } );\n", "pool 'p': 'answers' = 9 is out of range [1, 8]" },
	{ "pool_select", IFACE ZONE "pools = ( { name = \"p\"; select = \"rr\"; } );\n", "select must be \"random\" or \"hash\", not \"rr\"" },
	{ "pool_prefix", IFACE ZONE "pools = ( { name = \"p\"; hash_prefix4 = 33; } );\n", "'hash_prefix4' = 33 is out of range [0, 32]" },
	{ "server_bad", IFACE ZONE "pools = ( { name = \"p\"; servers = ( { address = \"198.18.1.300\"; } ); } );\n", "t.conf:5: pool 'p': '198.18.1.300' is not an IPv4 or IPv6 address" },
	{ "server_twice", IFACE ZONE "pools = ( { name = \"p\"; servers = ( { address = \"198.18.1.1\"; },\n { address = \"198.18.1.1\"; } ); } );\n", "t.conf:6: pool 'p': server 198.18.1.1 listed twice" },
	{ "server_weight", IFACE ZONE "pools = ( { name = \"p\"; servers = ( { address = \"198.18.1.1\"; weight = -3; } ); } );\n", "'weight' = -3 is out of range" },
	{ "server_unknown", IFACE ZONE "pools = ( { name = \"p\"; servers = ( { adress = \"198.18.1.1\"; } ); } );\n", "unknown setting 'adress' in server" },
	{ "servers_not_list", IFACE ZONE "pools = ( { name = \"p\"; servers = \"198.18.1.1\"; } );\n", "'servers' must be a list of groups" },
	{ "name_outside", IFACE ZONE POOL "names = ( { name = \"www.other.example\"; pool = \"p\"; } );\n", "t.conf:6: name 'www.other.example' is not inside any configured zone" },
	{ "name_no_pool", IFACE ZONE POOL "names = ( { name = \"www.shop.example\"; pool = \"q\"; } );\n", "name 'www.shop.example': no pool named 'q'" },
	{ "name_twice", IFACE ZONE POOL "names = ( { name = \"www.shop.example\"; pool = \"p\"; },\n { name = \"WWW.shop.example.\"; pool = \"p\"; } );\n", "t.conf:7: name 'WWW.shop.example.' is defined twice (first at line 6)" },
	{ "name_ttl", IFACE ZONE POOL "names = ( { name = \"www.shop.example\"; pool = \"p\"; ttl = -1; } );\n", "name 'www.shop.example': 'ttl' = -1 is out of range" },
	{ "name_deep", IFACE ZONE POOL "names = ( { name = \"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.shop.example\"; pool = \"p\"; } );\n", "has 33 labels (at most 32)" },
	{ "names_not_list", IFACE ZONE POOL "names = { name = \"www.shop.example\"; };\n", "'names' must be a list of groups" },
};

/* one test per row */
static void t_errors(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ps_conf c;
		char err[PS_ERR_MAX] = "", name[64];
		int rc;

		snprintf(name, sizeof(name), "conf_error_%s", bad[i].what);
		check_begin(name);
		rc = ps_conf_load_string(&c, bad[i].text, "t.conf", err,
					 sizeof(err));
		CHECK(rc == -1, "%s: accepted", bad[i].what);
		CHECK(strstr(err, bad[i].expect),
		      "%s: message \"%s\", expected \"%s\"", bad[i].what, err,
		      bad[i].expect);
		if (!rc)
			ps_conf_free(&c);
		check_end();
	}
}

static void t_missing_file(void)
{
	struct ps_conf c;
	char err[PS_ERR_MAX];

	CHECK(ps_conf_load(&c, "/nonexistent/steerd.conf", err, sizeof(err)) == -1,
	      "missing file accepted");
	CHECK(strstr(err, "/nonexistent/steerd.conf: No such file or directory"),
	      "message: %s", err);
}

static void t_dname(void)
{
	struct ps_dname a, b, p;
	char err[PS_ERR_MAX], text[300];

	CHECK(!ps_dname_from_text(&a, "A.B.Example", err, sizeof(err)), "%s", err);
	CHECK_EQ(a.len, 13);
	CHECK_EQ(a.labels, 3);
	CHECK(!memcmp(a.wire, "\x01" "a\x01" "b\x07" "example", 13), "wire");
	CHECK(!ps_dname_from_text(&b, "example.", err, sizeof(err)), "%s", err);
	CHECK(ps_dname_within(&a, &b), "a.b.example within example");
	CHECK(ps_dname_within(&a, &a), "within itself");
	CHECK(!ps_dname_within(&b, &a), "example not within a.b.example");
	CHECK(!ps_dname_from_text(&b, "xample", err, sizeof(err)), "%s", err);
	CHECK(!ps_dname_within(&a, &b), "label boundary respected");
	ps_dname_parent(&p, &a, 2);
	ps_dname_to_text(&p, text, sizeof(text));
	CHECK(!strcmp(text, "example"), "parent %s", text);
	CHECK_EQ(p.labels, 1);
	ps_dname_parent(&p, &a, 3);
	ps_dname_to_text(&p, text, sizeof(text));
	CHECK(!strcmp(text, "."), "root %s", text);
	CHECK(ps_dname_from_text(&a, "", err, sizeof(err)) == -1, "empty ok?");
	CHECK(ps_dname_from_text(&a, "a_b-c.d9", err, sizeof(err)) == 0, "%s", err);
}

UNIT_TABLE(conf_cases) = {
	{ "conf_valid", t_valid },
	{ "conf_defaults", t_defaults },
	{ "conf_error", t_errors, 1 },
	{ "conf_missing_file", t_missing_file },
	{ "conf_dname", t_dname },
	UNIT_END
};
