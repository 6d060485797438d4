// SPDX-License-Identifier: GPL-2.0-only
/* The map image: zone records (decoded by ldns), names and empty
 * non-terminals, config. */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <ldns/ldns.h>

#include "unit.h"
#include "build.h"

static const char *text =
	"interfaces = [ \"eth0\" ];\n"
	"dns = { port = 5300; listen = [ \"198.18.0.1\" ]; };\n"
	"zones = ( { name = \"shop.example\"; ttl = 600;\n"
	"  soa = { mname = \"ns1.shop.example\"; rname = \"h.shop.example\"; serial = 9; minimum = 900; };\n"
	"  ns = [ \"ns1.shop.example\", \"ns.other.example\", \"shop.example\" ]; },\n"
	"  { name = \"x.y.shop.example\";\n"
	"  soa = { mname = \"ns.x.y.shop.example\"; rname = \"h.x.y.shop.example\"; minimum = 30; };\n"
	"  ns = [ \"ns.x.y.shop.example\" ]; } );\n"
	"pools = ( { name = \"p\"; servers = ( { address = \"198.18.1.1\"; } ); } );\n"
	"names = ( { name = \"shop.example\"; pool = \"p\"; ttl = 5; },\n"
	"          { name = \"a.b.c.shop.example\"; pool = \"p\"; } );\n";

static struct ps_conf conf;
static struct ps_image img;

static int setup(void)
{
	char err[PS_ERR_MAX];

	if (img.nnames)
		return 0;
	if (ps_conf_load_string(&conf, text, "t.conf", err, sizeof(err))) {
		CHECK(0, "config: %s", err);
		return -1;
	}
	CHECK(!ps_image_build(&img, &conf), "image build failed");
	return ps_chk.failed ? -1 : 0;
}

static const struct ps_image_name *find(const char *name)
{
	struct ps_dname d;
	char err[PS_ERR_MAX];

	if (ps_dname_from_text(&d, name, err, sizeof(err)))
		return NULL;
	for (int i = 0; i < img.nnames; i++)
		if (img.names[i].key.len == d.len &&
		    !memcmp(img.names[i].key.wire, d.wire, d.len))
			return &img.names[i];
	return NULL;
}

/* Wrap the apex's records in a message (question = apex at offset 12)
 * and let ldns parse it. */
static ldns_pkt *zone_message(const struct ps_zone *z, int ns)
{
	uint8_t msg[2048] = { 0x12, 0x34, 0x84, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
	const uint8_t apex[] = "\x04shop\x07" "example";
	size_t pos = 12;
	ldns_pkt *pkt = NULL;

	memcpy(msg + pos, apex, sizeof(apex));
	pos += sizeof(apex);
	msg[pos++] = 0;
	msg[pos++] = ns ? 2 : 6;
	msg[pos++] = 0;
	msg[pos++] = 1;
	if (ns) {
		msg[7] = z->ns_count;
		memcpy(msg + pos, z->ns, z->ns_len);
		pos += z->ns_len;
	} else {
		msg[7] = 1;
		msg[pos++] = 0xc0;
		msg[pos++] = 12;
		memcpy(msg + pos, z->soa, z->soa_len);
		pos += z->soa_len;
	}
	if (ldns_wire2pkt(&pkt, msg, pos) != LDNS_STATUS_OK)
		return NULL;
	return pkt;
}

static void t_soa(void)
{
	ldns_pkt *pkt;
	ldns_rr *rr;
	char *s;

	if (setup())
		return;
	pkt = zone_message(&img.zones[0], 0);
	CHECK(pkt, "ldns cannot parse the SOA record");
	if (!pkt)
		return;
	rr = ldns_rr_list_rr(ldns_pkt_answer(pkt), 0);
	s = ldns_rr2str(rr);
	CHECK(strstr(s, "shop.example.\t600\tIN\tSOA\tns1.shop.example. h.shop.example. 9 3600 600 604800 900"),
	      "SOA decoded as %s", s);
	free(s);
	ldns_pkt_free(pkt);
	CHECK_EQ(ntohl(img.zones[0].soa_ttl), 600);
	CHECK_EQ(ntohl(img.zones[0].neg_ttl), 600);	/* min(600, 900) */
	CHECK_EQ(ntohl(img.zones[1].neg_ttl), 30);	/* min(3600, 30) */
}

static void t_ns(void)
{
	ldns_pkt *pkt;
	char *s;

	if (setup())
		return;
	CHECK_EQ(img.zones[0].ns_count, 3);
	/* in-zone names are compressed against the question */
	CHECK(img.zones[0].ns_len < 3 * 12 + 18 + 18 + 14, "NS not compressed");
	pkt = zone_message(&img.zones[0], 1);
	CHECK(pkt, "ldns cannot parse the NS RRset");
	if (!pkt)
		return;
	s = ldns_rr_list2str(ldns_pkt_answer(pkt));
	CHECK(strstr(s, "shop.example.\t600\tIN\tNS\tns1.shop.example.") &&
	      strstr(s, "shop.example.\t600\tIN\tNS\tns.other.example.") &&
	      strstr(s, "shop.example.\t600\tIN\tNS\tshop.example."),
	      "NS decoded as %s", s);
	free(s);
	ldns_pkt_free(pkt);
}

static void t_names(void)
{
	const struct ps_image_name *e;

	if (setup())
		return;
	e = find("shop.example");
	CHECK(e && e->val.flags == (PS_NAME_APEX | PS_NAME_POOL),
	      "apex with a pool: flags %d", e ? e->val.flags : -1);
	CHECK(e && e->val.ttl == 5 && e->val.zone == 0 && e->val.zone_labels == 2,
	      "apex entry fields");
	e = find("a.b.c.shop.example");
	CHECK(e && e->val.flags == PS_NAME_POOL && e->val.ttl == 30, "name entry");
	/* empty non-terminals down to the name, in the name's zone */
	e = find("b.c.shop.example");
	CHECK(e && e->val.flags == 0 && e->val.zone == 0, "ENT b.c");
	e = find("c.shop.example");
	CHECK(e && e->val.flags == 0 && e->val.zone_labels == 2, "ENT c");
	/* the sub-zone apex, and the ENT above it in the parent zone */
	e = find("x.y.shop.example");
	CHECK(e && e->val.flags == PS_NAME_APEX && e->val.zone == 1 &&
	      e->val.zone_labels == 4, "sub-zone apex");
	e = find("y.shop.example");
	CHECK(e && e->val.flags == 0 && e->val.zone == 0, "ENT y above sub-zone");
	CHECK(!find("example"), "above every zone: no entry");
	CHECK_EQ(img.nnames, 6);
	/* sorted by (length, bytes) and unique: the writer relies on it */
	for (int i = 1; i < img.nnames; i++)
		CHECK(img.names[i - 1].key.len < img.names[i].key.len ||
		      (img.names[i - 1].key.len == img.names[i].key.len &&
		       memcmp(img.names[i - 1].key.wire, img.names[i].key.wire,
			      img.names[i].key.len) < 0), "order at %d", i);
}

static void t_cfg(void)
{
	if (setup())
		return;
	CHECK_EQ(img.cfg.dns_port, htons(5300));
	CHECK_EQ(img.cfg.edns_size, 1232);
	CHECK_EQ(img.cfg.n_listen4, 1);
	CHECK_EQ(img.cfg.listen4[0], inet_addr("198.18.0.1"));
	CHECK_EQ(img.cfg.max_apex_labels, 4);
	CHECK_EQ(img.cfg.flags, 0);	/* READY is the writer's */
	CHECK(!strcmp(img.sels[0].name, "p"), "pool name in its table");
	CHECK_EQ(img.sels[0].a4, 1);
	CHECK_EQ(img.sels[0].a6, 0);
	CHECK_EQ(img.sels[0].addr4[0], inet_addr("198.18.1.1"));
}

UNIT_TABLE(build_cases) = {
	{ "build_zone_soa", t_soa },
	{ "build_zone_ns", t_ns },
	{ "build_names_and_ents", t_names },
	{ "build_cfg_and_tables", t_cfg },
	UNIT_END
};
