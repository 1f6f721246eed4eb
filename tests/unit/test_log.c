/* Unit tests for logging: logfmt and JSON lines, quoting, levels, URI redaction. */
#include <fcntl.h>
#include <unistd.h>

#include "check.h"
#include "frond/log.h"

static int fds[2];

static const char *drain(void)
{
    static char out[8192];
    ssize_t n = read(fds[0], out, sizeof(out) - 1);
    out[n > 0 ? n : 0] = '\0';
    return out;
}

static void test_logfmt(void)
{
    frond_log_set_format(FROND_LOG_LOGFMT);
    frond_log_set_level(FROND_LOG_INFO);
    frond_info("listening", "address", ":9216", "note", "has space", "q", "a\"b\nc", "e", "");
    const char *line = drain();
    CHECK(strncmp(line, "ts=", 3) == 0);
    CHECK(strstr(line, " caller=test_log.c:") != NULL);
    CHECK(strstr(line, " level=info msg=listening address=:9216 note=\"has space\" "
                       "q=\"a\\\"b\\nc\" e=\"\"\n") != NULL);
    frond_debug("hidden");
    frond_warn("shown");
    line = drain();
    CHECK(strstr(line, "hidden") == NULL);
    CHECK(strstr(line, "level=warn msg=shown") != NULL);
}

static void test_json(void)
{
    frond_log_set_format(FROND_LOG_JSON);
    frond_error("scrape failed", "err", "tab\there", "ctl", "\x01");
    const char *line = drain();
    CHECK(line[0] == '{');
    CHECK(strstr(line, "\"level\":\"error\",\"msg\":\"scrape failed\",\"err\":\"tab\\there\","
                       "\"ctl\":\"\\u0001\"}\n") != NULL);
    frond_log_set_format(FROND_LOG_LOGFMT);
}

static void test_setup(void)
{
    CHECK_INT(frond_log_setup("debug", "json"), 0);
    CHECK(frond_log_enabled(FROND_LOG_DEBUG));
    CHECK(frond_log_setup("verbose", "logfmt") < 0);
    CHECK(frond_log_setup("info", "xml") < 0);
    CHECK_INT(frond_log_setup(NULL, NULL), 0);
    CHECK(!frond_log_enabled(FROND_LOG_DEBUG));
}

static void test_redact(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"mongodb://user:secret@h1:27017,h2:27017/admin?tls=true",
         "mongodb://user:xxxxx@h1:27017,h2:27017/admin?tls=true"},
        {"amqp://guest:guest@127.0.0.1:5672", "amqp://guest:xxxxx@127.0.0.1:5672"},
        {"mongodb://user@h1/", "mongodb://user@h1/"},
        {"mongodb://h1:27017/?replicaSet=rs0", "mongodb://h1:27017/?replicaSet=rs0"},
        {"http://u:p@ss@host/x", "http://u:xxxxx@host/x"},
        {"not a uri", "not a uri"},
        {"", ""},
    };
    for (size_t i = 0; i < FROND_ARRAY_SIZE(cases); i++) {
        char out[256];
        frond_redact_uri(cases[i].in, out, sizeof(out));
        CHECK_STR(out, cases[i].want);
    }
    char small[8];
    frond_redact_uri("mongodb://a:b@c", small, sizeof(small));
    CHECK_INT(strlen(small), 7);
}

int main(void)
{
    if (pipe2(fds, O_NONBLOCK) != 0) {
        return 1;
    }
    frond_log_set_fd(fds[1]);
    test_logfmt();
    test_json();
    test_setup();
    test_redact();
    frond_log_set_fd(2);
    close(fds[0]);
    close(fds[1]);
    return check_done("test_log");
}
