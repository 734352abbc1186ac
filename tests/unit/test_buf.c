/*
 * test_buf - the growable byte buffer.
 */
#include "config.h"

#include <stdlib.h>

#include "common/buf.h"
#include "tests/unit/check.h"

static void test_append_and_binary(void)
{
	struct buf b;

	buf_init(&b);
	CHECK_STR(buf_cstr(&b), "");
	buf_append(&b, "a\0b", 3);
	CHECK_INT(b.len, 3);
	CHECK(memcmp(b.data, "a\0b", 3) == 0);
	buf_append_str(&b, "cd");
	buf_append_char(&b, 'e');
	CHECK_INT(b.len, 6);
	buf_reset(&b);
	buf_printf(&b, "%s=%d", "x", 42);
	CHECK_STR(buf_cstr(&b), "x=42");
	buf_free(&b);
	CHECK(b.data == NULL && b.len == 0);
}

static void test_growth(void)
{
	struct buf b;

	buf_init(&b);
	for (int i = 0; i < 100000; i++)
		buf_append_char(&b, (char)('a' + i % 26));
	CHECK_INT(b.len, 100000);
	CHECK(b.cap > b.len);
	CHECK(b.data[99999] == (char)('a' + 99999 % 26));
	buf_free(&b);
}

static void test_consume_and_steal(void)
{
	struct buf b;
	char *s;

	buf_init(&b);
	buf_append_str(&b, "hello world");
	buf_consume(&b, 6);
	CHECK_STR(buf_cstr(&b), "world");
	buf_consume(&b, 100);
	CHECK_INT(b.len, 0);
	buf_append_str(&b, "kept");
	s = buf_steal(&b);
	CHECK_STR(s, "kept");
	CHECK(b.data == NULL);
	free(s);
}

int main(void)
{
	test_append_and_binary();
	test_growth();
	test_consume_and_steal();
	return check_summary("test_buf");
}
