/* Error messages (io/err.c): a message keeps its cause whatever the length of the path
 * before it, can prefix the previous message, and is per thread. */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic.h"
#include "io/err.h"

/* A 4000-byte path of 100-byte directory names, none of which exists. */
static char *long_path(void)
{
    char *p = malloc(4001);
    size_t k = 0;
    k += (size_t)sprintf(p, "%s/nosuch", tu_tmpdir("err"));
    for (; k < 4000; k++)
        p[k] = k % 100 == 0 ? '/' : (char)('a' + k % 26);
    p[4000] = '\0';
    return p;
}

static void test_long_path_keeps_cause(void **state)
{
    (void)state;
    char *p = long_path();
    assert_int_equal(mli_err(MLI_EINPUT, "%s: cannot open: %s", p, strerror(ENOENT)), MLI_EINPUT);
    const char *m = mli_errmsg();
    assert_non_null(strstr(m, p)); /* the whole path */
    size_t len = strlen(m);
    assert_true(len > 4000);
    assert_string_equal(m + len - strlen(": cannot open: No such file or directory"),
                        ": cannot open: No such file or directory");
    free(p);
}

/* Through a real reader: the system error survives the 4000-byte path before it. */
static void test_long_path_file_read(void **state)
{
    (void)state;
    char *p = long_path();
    unsigned char *buf;
    size_t n;
    assert_int_equal(mli_file_read(p, 100, &buf, &n), MLI_EINPUT);
    const char *m = mli_errmsg();
    if (!strstr(m, p) || !strstr(m, "cannot open: No such file or directory"))
        fail_msg("message of %zu bytes lost the path or the cause: ...%s", strlen(m),
                 strlen(m) > 80 ? m + strlen(m) - 80 : m);
    free(p);
}

/* mli_err(rc, "%s: %s", x, mli_errmsg()) prefixes the message, even a long one. */
static void test_prefix_previous(void **state)
{
    (void)state;
    char *p = long_path();
    mli_err(MLI_EINPUT, "%s: bad magic", p);
    mli_err(MLI_EINPUT, "data set: %s", mli_errmsg());
    const char *m = mli_errmsg();
    assert_int_equal(strncmp(m, "data set: ", 10), 0);
    assert_non_null(strstr(m, p));
    assert_string_equal(m + strlen(m) - 11, ": bad magic");
    mli_err_clear();
    assert_string_equal(mli_errmsg(), "");
    free(p);
}

static void *in_thread(void *arg)
{
    (void)arg;
    mli_err(MLI_EFAIL, "thread message %d", 7);
    return mli_errmsg()[0] == 't' && !strcmp(mli_errmsg(), "thread message 7") ? arg : NULL;
}

/* Each thread has its own message (freed when it ends: the sanitized pass checks leaks). */
static void test_per_thread(void **state)
{
    (void)state;
    mli_err(MLI_EINPUT, "main message");
    pthread_t t;
    void *ok = NULL;
    assert_int_equal(pthread_create(&t, NULL, in_thread, (void *)1), 0);
    pthread_join(t, &ok);
    assert_non_null(ok);
    assert_string_equal(mli_errmsg(), "main message");
}

/* For fixed-size fields: the middle goes, the head and the cause stay. */
static void test_shorten(void **state)
{
    (void)state;
    char *p = long_path(), m[5000], out[300];
    snprintf(m, sizeof m, "%s: write failed: No space left on device", p);
    mli_err_shorten(out, sizeof out, m);
    assert_true(strlen(out) < sizeof out);
    assert_int_equal(strncmp(out, m, 50), 0);
    assert_non_null(strstr(out, "…"));
    assert_string_equal(out + strlen(out) - strlen(": write failed: No space left on device"),
                        ": write failed: No space left on device");
    mli_err_shorten(out, sizeof out, "short: fits");
    assert_string_equal(out, "short: fits");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_path_keeps_cause), cmocka_unit_test(test_long_path_file_read),
        cmocka_unit_test(test_prefix_previous),       cmocka_unit_test(test_per_thread),
        cmocka_unit_test(test_shorten),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
