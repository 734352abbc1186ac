/*
 * fuzz_office - the OLE2 directory reader and the OOXML name tests.
 *
 * Invariants: never crash or hang; the same bytes give the same answer
 * (the reader keeps no state); the input read as a member name (up to
 * its first NUL) is a VBA project exactly when its last path segment is
 * "vbaproject.bin" in any case, and the name tests ignore ASCII case.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filters/office.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ends_vba - the reference: last segment equals vbaproject.bin, any case */
static bool ends_vba(const char *s)
{
	const char *slash = strrchr(s, '/'), *back = strrchr(s, '\\');
	const char *seg = slash > back ? slash + 1 : back ? back + 1 : s;

	return strcasecmp(seg, "vbaProject.bin") == 0;
}

/* check_name - the name tests on data up to its first NUL */
static void check_name(const uint8_t *data, size_t size)
{
	char *name = strndup((const char *)data, size), *upper;

	if (!name)
		return;
	upper = strdup(name);
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 32);
	if (office_ooxml_member_is_vba(name) != ends_vba(name))
		abort();
	if (office_ooxml_member_is_vba(name) != office_ooxml_member_is_vba(upper) ||
	    office_ooxml_member_is_activex(name) != office_ooxml_member_is_activex(upper) ||
	    office_ooxml_member_is_xlm(name) != office_ooxml_member_is_xlm(upper))
		abort();
	free(upper);
	free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool vba = office_ole_has_vba(data, size);

	if (office_ole_has_vba(data, size) != vba)
		abort();
	check_name(data, size);
	return 0;
}
