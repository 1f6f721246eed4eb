/* Unit tests for the capped buffer: growth, the hard cap, take/reset, shrink. */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "frond/buf.h"

static void test_append_and_cap(void)
{
    struct frond_buf b;
    frond_buf_init(&b, 10);
    CHECK_STR(frond_buf_cstr(&b), "");
    CHECK_INT(frond_buf_puts(&b, "hello"), 0);
    CHECK_INT(frond_buf_putc(&b, ' '), 0);
    CHECK_INT(frond_buf_printf(&b, "%d", 123), 0);
    CHECK_STR(frond_buf_cstr(&b), "hello 123");
    /* The 11th byte does not fit, and nothing partial is added. */
    CHECK_INT(frond_buf_puts(&b, "ab"), -ENOSPC);
    CHECK_STR(frond_buf_cstr(&b), "hello 123");
    CHECK_INT(frond_buf_putc(&b, '!'), 0);
    CHECK_INT(b.len, 10);
    CHECK_INT(frond_buf_putc(&b, '!'), -ENOSPC);
    CHECK_INT(frond_buf_printf(&b, "%s", "x"), -ENOSPC);
    frond_buf_reset(&b);
    CHECK_INT(b.len, 0);
    CHECK_STR(frond_buf_cstr(&b), "");
    frond_buf_cleanup(&b);
}

static void test_large_printf_and_take(void)
{
    struct frond_buf b;
    frond_buf_init(&b, 1 << 20);
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (int i = 0; i < 100; i++) {
        CHECK_INT(frond_buf_printf(&b, "%s", big), 0);
    }
    CHECK_INT(b.len, 99900);
    size_t len = 0;
    char *p = frond_buf_take(&b, &len);
    CHECK_INT(len, 99900);
    CHECK(p && p[99899] == 'x' && p[99900] == '\0');
    free(p);
    CHECK(b.data == NULL && b.len == 0);
    CHECK_INT(frond_buf_append(&b, "ab", 2), 0);
    CHECK_STR(frond_buf_cstr(&b), "ab");
    frond_buf_cleanup(&b);
}

/* Shrinking keeps the content and the NUL, and the buffer still grows afterwards. */
static void test_shrink(void)
{
    struct frond_buf b;
    frond_buf_init(&b, 1 << 20);
    frond_buf_shrink(&b); /* nothing allocated yet */
    CHECK_INT(frond_buf_puts(&b, "abc"), 0);
    CHECK(b.cap >= 256);
    frond_buf_shrink(&b);
    CHECK_INT(b.cap, 4);
    CHECK_STR(frond_buf_cstr(&b), "abc");
    CHECK_INT(frond_buf_puts(&b, "defgh"), 0);
    CHECK_STR(frond_buf_cstr(&b), "abcdefgh");
    frond_buf_cleanup(&b);
}

int main(void)
{
    test_append_and_cap();
    test_large_printf_and_take();
    test_shrink();
    return check_done("test_buf");
}
