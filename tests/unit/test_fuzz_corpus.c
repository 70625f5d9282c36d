/* test_fuzz_corpus.c - every input in the fuzz corpora (seeds and any crash
 * the fuzzer ever found) replayed through the fuzz target, under ASan, as
 * a regression test.  The target aborts on any broken invariant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int cg_fuzz_proxy_protocol(const uint8_t *data, size_t size);
int cg_fuzz_connection(const uint8_t *data, size_t size);

/* Run every file of dir through target; returns how many. */
static int replay_dir(const char *dir, int (*target)(const uint8_t *, size_t))
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char path[2048];
        FILE *f;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        f = fopen(path, "rb");
        if (f == NULL)
            continue;
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
        size_t got = fread(buf, 1, (size_t)len, f);
        fclose(f);
        target(buf, got);
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

static void test_fuzz_corpus_http_parser(void **state)
{
    (void)state;
    const char *root = getenv("CG_ROOT");
    char dir[768];
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/fuzz_http_parser", root ? root : ".");
    assert_true(replay_dir(dir, LLVMFuzzerTestOneInput) >= 10);
}

static void test_fuzz_corpus_proxy_protocol(void **state)
{
    (void)state;
    const char *root = getenv("CG_ROOT");
    char dir[768];
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/fuzz_proxy_protocol", root ? root : ".");
    assert_true(replay_dir(dir, cg_fuzz_proxy_protocol) >= 10);
}

static void test_fuzz_corpus_connection(void **state)
{
    (void)state;
    const char *root = getenv("CG_ROOT");
    char dir[768];
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/fuzz_connection", root ? root : ".");
    assert_true(replay_dir(dir, cg_fuzz_connection) >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuzz_corpus_http_parser),
        cmocka_unit_test(test_fuzz_corpus_proxy_protocol),
        cmocka_unit_test(test_fuzz_corpus_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
