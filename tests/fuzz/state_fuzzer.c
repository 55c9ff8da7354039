/*
 * libFuzzer target for the fleetca_state document (src/io/json.c): any input either fails to parse
 * with FCA_EINVALID, or parses into a state whose canonical serialization is a fixed point:
 * serialize(parse(x)) == serialize(parse(serialize(parse(x)))). Each row_facts line either is
 * refused by fca_cert_facts_decode or reads back as written: encode(decode(l)) is a fixed point.
 * Anything else aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fleetca/certinfo.h"
#include "fleetca/json.h"
#include "fleetca/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_facts(const char *line)
{
	static struct fca_cert_info a, b;
	static char md5[33], one[FCA_CERT_FACTS_MAX], two[FCA_CERT_FACTS_MAX];

	if (strlen(line) < 3 + 32)
		return;
	memcpy(md5, line + 3, 32);
	md5[32] = '\0';
	if (fca_cert_facts_decode(&a, line, md5, 1796378400) != 1)
		return;
	if (fca_cert_facts_encode(one, md5, &a) != 0 || fca_cert_facts_decode(&b, one, md5, 1796378400) != 1 ||
	    fca_cert_facts_encode(two, md5, &b) != 0 || strcmp(one, two) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fca_state a, b;
	char *one = NULL, *two = NULL;
	size_t n1 = 0, n2 = 0;
	int r;

	r = fca_state_parse(&a, (const char *)data, size);
	if (r != FCA_OK) {
		if (r != FCA_EINVALID && r != FCA_ENOMEM)
			abort();
		if (a.gens || a.transitions || a.outbox || a.row_facts || a.ngens || a.ntransitions || a.noutbox ||
		    a.nrow_facts)
			abort(); /* a failed parse leaves nothing behind */
		return 0;
	}
	if (fca_state_serialize(&one, &n1, &a) != FCA_OK)
		abort(); /* whatever parses must serialize */
	if (fca_state_parse(&b, one, n1) != FCA_OK)
		abort();
	if (fca_state_serialize(&two, &n2, &b) != FCA_OK)
		abort();
	if (n1 != n2 || memcmp(one, two, n1) != 0)
		abort();
	if (a.ngens != b.ngens || a.ntransitions != b.ntransitions || a.noutbox != b.noutbox ||
	    a.nrow_facts != b.nrow_facts)
		abort();
	for (size_t i = 0; i < a.nrow_facts; i++)
		check_facts(a.row_facts[i]);
	free(one);
	free(two);
	fca_state_dispose(&a);
	fca_state_dispose(&b);
	return 0;
}
