/* The C API's test: every function of zen.h, with NULL and bad inputs, the
 * last-error text, real calls against the stand-in provider (zen-standin),
 * the asynchronous callback, cancellation, and eight threads calling at once.
 *
 *   zen_test STANDIN_URL EXPECTED_VERSION
 *
 * STANDIN_URL is the first line zen-standin prints (http://127.0.0.1:PORT).
 * tests/c/run.sh builds it with -std=c11 -Wall -Wextra -Wpedantic -Werror and
 * runs it under valgrind. Exits 0 when every check passed. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "zen.h"

/* ---- checks ------------------------------------------------------------ */

static int failures = 0;
static int checks = 0;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

static void fail_at(const char *file, int line, const char *what) {
    pthread_mutex_lock(&report_lock);
    failures++;
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    pthread_mutex_unlock(&report_lock);
}

static void count_check(void) {
    pthread_mutex_lock(&report_lock);
    checks++;
    pthread_mutex_unlock(&report_lock);
}

#define CHECK(cond)                                                            \
    do {                                                                       \
        count_check();                                                         \
        if (!(cond)) fail_at(__FILE__, __LINE__, #cond);                       \
    } while (0)

/* The thread's last error, copied into a static-per-call buffer. */
static void last_error(char *buf, size_t len) {
    size_t needed = 0;
    if (zen_last_error_message(buf, len, &needed) != ZEN_STATUS_OK) {
        snprintf(buf, len, "(message of %zu bytes did not fit)", needed);
    }
}

/* Checks that `expr` returns `expected`, and prints the last error if not. */
#define CHECK_STATUS(expr, expected)                                           \
    do {                                                                       \
        zen_status got_ = (expr);                                              \
        count_check();                                                         \
        if (got_ != (expected)) {                                              \
            char msg_[1024];                                                   \
            char what_[1400];                                                  \
            last_error(msg_, sizeof msg_);                                     \
            snprintf(what_, sizeof what_, "%s returned %d (%s), expected %d; " \
                     "last error: %s", #expr, (int)got_,                        \
                     zen_status_str(got_), (int)(expected), msg_);             \
            fail_at(__FILE__, __LINE__, what_);                                \
        }                                                                      \
    } while (0)

/* Checks that the last error of this thread contains `needle`. */
#define CHECK_MESSAGE(needle)                                                  \
    do {                                                                       \
        char msg_[2048];                                                       \
        last_error(msg_, sizeof msg_);                                         \
        count_check();                                                         \
        if (strstr(msg_, (needle)) == NULL) {                                  \
            char what_[2200];                                                  \
            snprintf(what_, sizeof what_, "last error \"%s\" lacks \"%s\"",    \
                     msg_, (needle));                                          \
            fail_at(__FILE__, __LINE__, what_);                                \
        }                                                                      \
    } while (0)

#define CHECK_CONTAINS(haystack, needle)                                       \
    do {                                                                       \
        const char *h_ = (haystack);                                           \
        count_check();                                                         \
        if (h_ == NULL || strstr(h_, (needle)) == NULL) {                      \
            char what_[600];                                                   \
            snprintf(what_, sizeof what_, "%.400s lacks \"%s\"",               \
                     h_ ? h_ : "(null)", (needle));                            \
            fail_at(__FILE__, __LINE__, what_);                                \
        }                                                                      \
    } while (0)

/* A pointer no zen function returns: out-parameters must keep it on failure. */
static char sentinel_byte;
#define SENTINEL ((void *)&sentinel_byte)

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* ---- the stand-in, over plain HTTP -------------------------------------- */

static char standin_url[256];
static int standin_port = 0;

/* Sends one request to the stand-in and returns the response body (malloc'd),
 * or NULL. */
static char *http(const char *method, const char *path, const char *body) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return NULL;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)standin_port);
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return NULL;
    }
    size_t body_len = body ? strlen(body) : 0;
    char head[512];
    int head_len = snprintf(head, sizeof head,
                            "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                            "Content-Type: application/json\r\n"
                            "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                            method, path, standin_port, body_len);
    if (write(fd, head, (size_t)head_len) != head_len ||
        (body_len && write(fd, body, body_len) != (ssize_t)body_len)) {
        close(fd);
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *response = malloc(cap);
    for (;;) {
        if (len + 1024 + 1 > cap) {
            cap *= 2;
            response = realloc(response, cap);
        }
        ssize_t n = read(fd, response + len, cap - len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    close(fd);
    response[len] = '\0';
    char *start = strstr(response, "\r\n\r\n");
    if (strncmp(response, "HTTP/1.1 2", 10) != 0 || start == NULL) {
        fprintf(stderr, "stand-in %s %s failed: %.200s\n", method, path, response);
        free(response);
        return NULL;
    }
    char *result = strdup(start + 4);
    free(response);
    return result;
}

static void standin(const char *method, const char *path, const char *body) {
    char *response = http(method, path, body);
    CHECK(response != NULL);
    free(response);
}

/* How many times `needle` occurs in the requests the stand-in received. */
static int requests_mentioning(const char *needle) {
    char *requests = http("GET", "/_standin/requests", NULL);
    int count = 0;
    if (requests == NULL) return -1;
    for (const char *p = requests; (p = strstr(p, needle)) != NULL; p++) count++;
    free(requests);
    return count;
}

/* ---- engines ------------------------------------------------------------ */

static zen_engine *new_engine(const char *extra_settings) {
    char config[1024];
    snprintf(config, sizeof config,
             "{\"OPENAI_API_KEY\": \"k\", \"OPENAI_BASE_URL\": \"%s/v1\"%s%s}",
             standin_url, extra_settings ? ", " : "",
             extra_settings ? extra_settings : "");
    zen_engine *engine = NULL;
    CHECK_STATUS(zen_engine_new(config, &engine), ZEN_STATUS_OK);
    CHECK(engine != NULL);
    return engine;
}

static const char *chat_args_fmt =
    "{\"prompt\": \"%s\", \"model\": \"o3\", "
    "\"working_directory_absolute_path\": \"/tmp\"%s%s%s}";

static void chat_args(char *buf, size_t len, const char *prompt,
                      const char *continuation_id) {
    snprintf(buf, len, chat_args_fmt, prompt,
             continuation_id ? ", \"continuation_id\": \"" : "",
             continuation_id ? continuation_id : "",
             continuation_id ? "\"" : "");
}

/* ---- version, status strings, last error --------------------------------- */

static void test_version(const char *expected) {
    const char *version = zen_version();
    CHECK(version != NULL);
    if (version == NULL) return;
    CHECK(strcmp(version, expected) == 0);
    char from_macros[64];
    snprintf(from_macros, sizeof from_macros, "%d.%d.%d", ZEN_VERSION_MAJOR,
             ZEN_VERSION_MINOR, ZEN_VERSION_PATCH);
    if (strcmp(from_macros, version) != 0) {
        fprintf(stderr, "zen.h says %s but the library is %s: update the "
                        "version macros in zen-ffi/cbindgen.toml\n",
                from_macros, version);
    }
    CHECK(strcmp(from_macros, version) == 0);
}

static void test_status_str(void) {
    static const zen_status all[] = {
        ZEN_STATUS_OK, ZEN_STATUS_NULL_ARGUMENT, ZEN_STATUS_INVALID_UTF8,
        ZEN_STATUS_INVALID_JSON, ZEN_STATUS_BUFFER_TOO_SMALL, ZEN_STATUS_CONFIG,
        ZEN_STATUS_CATALOGUE, ZEN_STATUS_INVALID_ARGUMENTS,
        ZEN_STATUS_UNKNOWN_TOOL, ZEN_STATUS_MODEL_NOT_AVAILABLE,
        ZEN_STATUS_NO_PROVIDER, ZEN_STATUS_PROVIDER, ZEN_STATUS_RATE_LIMITED,
        ZEN_STATUS_TIMEOUT, ZEN_STATUS_FILE_REFUSED,
        ZEN_STATUS_CONVERSATION_NOT_FOUND, ZEN_STATUS_CONVERSATION_FULL,
        ZEN_STATUS_ENGINE, ZEN_STATUS_PANIC, ZEN_STATUS_CANCELLED,
        ZEN_STATUS_INTERNAL};
    size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n; i++) {
        const char *text = zen_status_str(all[i]);
        CHECK(text != NULL && text[0] != '\0');
        CHECK(strcmp(text, "unknown status") != 0);
        for (size_t j = 0; j < i; j++) CHECK(strcmp(text, zen_status_str(all[j])) != 0);
    }
    CHECK(strcmp(zen_status_str(ZEN_STATUS_OK), "ok") == 0);
    CHECK(strcmp(zen_status_str(-1), "unknown status") == 0);
    CHECK(strcmp(zen_status_str(1), "unknown status") == 0);
    CHECK(strcmp(zen_status_str(12345), "unknown status") == 0);
    /* The ranges are part of the ABI. */
    CHECK(ZEN_STATUS_OK == 0);
    CHECK(ZEN_STATUS_NULL_ARGUMENT == 100 && ZEN_STATUS_BUFFER_TOO_SMALL == 103);
    CHECK(ZEN_STATUS_CONFIG == 200 && ZEN_STATUS_CONVERSATION_FULL == 211);
    CHECK(ZEN_STATUS_PANIC == 900 && ZEN_STATUS_CANCELLED == 901);
}

static void *fresh_thread_last_error(void *unused) {
    (void)unused;
    size_t needed = 99;
    char buf[8];
    memset(buf, 'x', sizeof buf);
    /* Nothing failed on this thread yet: the message is empty. */
    CHECK_STATUS(zen_last_error_message(NULL, 0, &needed), ZEN_STATUS_BUFFER_TOO_SMALL);
    CHECK(needed == 1);
    CHECK_STATUS(zen_last_error_message(buf, sizeof buf, &needed), ZEN_STATUS_OK);
    CHECK(buf[0] == '\0' && needed == 1);
    return NULL;
}

static void test_last_error(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, fresh_thread_last_error, NULL);
    pthread_join(thread, NULL);

    /* Make an error, then read it in every way. */
    CHECK_STATUS(zen_engine_list_tools(NULL, NULL), ZEN_STATUS_NULL_ARGUMENT);
    const char *expected = "argument `engine` is NULL";
    size_t needed = 0;
    CHECK_STATUS(zen_last_error_message(NULL, 0, &needed), ZEN_STATUS_BUFFER_TOO_SMALL);
    CHECK(needed == strlen(expected) + 1);

    char small[8];
    memset(small, 'x', sizeof small);
    needed = 0;
    CHECK_STATUS(zen_last_error_message(small, sizeof small, &needed),
                 ZEN_STATUS_BUFFER_TOO_SMALL);
    CHECK(needed == strlen(expected) + 1);
    CHECK(small[0] == 'x' && small[7] == 'x'); /* untouched */

    char exact[64];
    CHECK_STATUS(zen_last_error_message(exact, strlen(expected) + 1, NULL), ZEN_STATUS_OK);
    CHECK(strcmp(exact, expected) == 0);

    CHECK_STATUS(zen_last_error_message(NULL, 10, &needed), ZEN_STATUS_NULL_ARGUMENT);
    /* Failing to read the message does not replace it, nor does success. */
    CHECK_STATUS(zen_last_error_message(exact, sizeof exact, &needed), ZEN_STATUS_OK);
    CHECK(strcmp(exact, expected) == 0);
    CHECK(strcmp(zen_version(), "") != 0);
    CHECK_MESSAGE(expected);
}

/* ---- engines: creation and listings -------------------------------------- */

static void test_engine_new(void) {
    zen_engine *engine = SENTINEL;

    CHECK_STATUS(zen_engine_new("{}", NULL), ZEN_STATUS_NULL_ARGUMENT);
    CHECK_MESSAGE("`out`");

    CHECK_STATUS(zen_engine_new("{\"OPENAI_API_KEY\": \"k\xff\"}", &engine),
                 ZEN_STATUS_INVALID_UTF8);
    CHECK_MESSAGE("UTF-8");
    CHECK(engine == SENTINEL);

    CHECK_STATUS(zen_engine_new("{\"OPENAI_API_KEY\": ", &engine), ZEN_STATUS_INVALID_JSON);
    CHECK_MESSAGE("not valid JSON");
    CHECK(engine == SENTINEL);

    CHECK_STATUS(zen_engine_new("[\"OPENAI_API_KEY\"]", &engine), ZEN_STATUS_CONFIG);
    CHECK_MESSAGE("JSON object");
    CHECK(engine == SENTINEL);

    CHECK_STATUS(zen_engine_new("{\"DISABLED_TOOLS\": [\"chat\"]}", &engine), ZEN_STATUS_CONFIG);
    CHECK_MESSAGE("DISABLED_TOOLS");

    CHECK_STATUS(zen_engine_new("{\"DISABLED_TOOLS\": \"nosuchtool\"}", &engine),
                 ZEN_STATUS_CONFIG);
    CHECK_MESSAGE("nosuchtool");

    CHECK_STATUS(zen_engine_new("{\"MAX_CONVERSATION_TURNS\": \"many\"}", &engine),
                 ZEN_STATUS_CONFIG);
    CHECK_MESSAGE("MAX_CONVERSATION_TURNS");
    CHECK(engine == SENTINEL);

    /* Numbers, booleans and nulls are settings too. */
    engine = NULL;
    CHECK_STATUS(zen_engine_new("{\"MAX_CONVERSATION_TURNS\": 7, \"LOCALE\": null, "
                                "\"PAL_MCP_FORCE_ENV_OVERRIDE\": false}",
                                &engine),
                 ZEN_STATUS_OK);
    CHECK(engine != NULL);
    zen_engine_free(engine);

    /* NULL reads the environment (and .env). */
    engine = NULL;
    CHECK_STATUS(zen_engine_new(NULL, &engine), ZEN_STATUS_OK);
    CHECK(engine != NULL);
    zen_engine_free(engine);

    zen_engine_free(NULL);
}

static void test_listings(const zen_engine *engine) {
    char *json = SENTINEL;

    CHECK_STATUS(zen_engine_list_tools(NULL, &json), ZEN_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(zen_engine_list_tools(engine, NULL), ZEN_STATUS_NULL_ARGUMENT);
    CHECK_MESSAGE("out_json");
    CHECK_STATUS(zen_engine_list_models(NULL, &json), ZEN_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(zen_engine_list_models(engine, NULL), ZEN_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(zen_engine_metrics(NULL, &json), ZEN_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(zen_engine_metrics(engine, NULL), ZEN_STATUS_NULL_ARGUMENT);
    CHECK(json == SENTINEL);

    CHECK_STATUS(zen_engine_list_tools(engine, &json), ZEN_STATUS_OK);
    CHECK(json != SENTINEL && json[0] == '[');
    CHECK_CONTAINS(json, "\"name\":\"chat\"");
    CHECK_CONTAINS(json, "\"input_schema\"");
    zen_string_free(json);

    json = NULL;
    CHECK_STATUS(zen_engine_list_models(engine, &json), ZEN_STATUS_OK);
    CHECK(json != NULL && json[0] == '[');
    CHECK_CONTAINS(json, "\"o3\"");
    zen_string_free(json);

    json = NULL;
    CHECK_STATUS(zen_engine_metrics(engine, &json), ZEN_STATUS_OK);
    CHECK(json != NULL && json[0] == '{');
    CHECK_CONTAINS(json, "\"version\":\"");
    CHECK_CONTAINS(json, "\"openai\"");
    CHECK_CONTAINS(json, "\"conversations\":{");
    zen_string_free(json);

    zen_string_free(NULL);
}

/* ---- blocking calls ----------------------------------------------------- */

static void test_call_errors(const zen_engine *engine) {
    char *out = SENTINEL;
    char args[512];
    chat_args(args, sizeof args, "hello", NULL);

    CHECK_STATUS(zen_engine_call_tool(NULL, "chat", args, &out), ZEN_STATUS_NULL_ARGUMENT);
    CHECK_MESSAGE("`engine`");
    CHECK_STATUS(zen_engine_call_tool(engine, NULL, args, &out), ZEN_STATUS_NULL_ARGUMENT);
    CHECK_MESSAGE("`tool_name`");
    CHECK_STATUS(zen_engine_call_tool(engine, "chat", args, NULL), ZEN_STATUS_NULL_ARGUMENT);
    CHECK_MESSAGE("`out_json`");
    CHECK_STATUS(zen_engine_call_tool(engine, "ch\xc3\x28t", args, &out), ZEN_STATUS_INVALID_UTF8);
    CHECK_MESSAGE("`tool_name` is not valid UTF-8");
    CHECK_STATUS(zen_engine_call_tool(engine, "chat", "{\"prompt\": \"\xff\"}", &out),
                 ZEN_STATUS_INVALID_UTF8);
    CHECK_MESSAGE("`args_json`");
    CHECK_STATUS(zen_engine_call_tool(engine, "chat", "{\"prompt\": ", &out),
                 ZEN_STATUS_INVALID_JSON);
    CHECK_MESSAGE("`args_json` is not valid JSON");
    CHECK_STATUS(zen_engine_call_tool(engine, "nosuchtool", args, &out), ZEN_STATUS_UNKNOWN_TOOL);
    CHECK_MESSAGE("nosuchtool");
    CHECK_STATUS(zen_engine_call_tool(engine, "chat", "[1, 2]", &out),
                 ZEN_STATUS_INVALID_ARGUMENTS);
    /* NULL arguments are `{}`: chat needs a prompt. */
    CHECK_STATUS(zen_engine_call_tool(engine, "chat", NULL, &out), ZEN_STATUS_INVALID_ARGUMENTS);
    CHECK_MESSAGE("prompt");
    CHECK_STATUS(zen_engine_call_tool(engine, "chat",
                                      "{\"prompt\": \"x\", \"model\": \"no-such-model\", "
                                      "\"working_directory_absolute_path\": \"/tmp\"}",
                                      &out),
                 ZEN_STATUS_MODEL_NOT_AVAILABLE);
    CHECK_MESSAGE("no-such-model");
    chat_args(args, sizeof args, "hello", "7f1e9a3c-0000-4000-8000-000000000000");
    CHECK_STATUS(zen_engine_call_tool(engine, "chat", args, &out),
                 ZEN_STATUS_CONVERSATION_NOT_FOUND);
    CHECK_MESSAGE("7f1e9a3c-0000-4000-8000-000000000000");
    CHECK(out == SENTINEL);

    /* A tool that needs no model, with no arguments. */
    out = NULL;
    CHECK_STATUS(zen_engine_call_tool(engine, "version", NULL, &out), ZEN_STATUS_OK);
    CHECK(out != NULL && out[0] == '{');
    zen_string_free(out);
}

static void test_no_provider(void) {
    zen_engine *engine = NULL;
    char *out = SENTINEL;
    CHECK_STATUS(zen_engine_new("{}", &engine), ZEN_STATUS_OK);
    CHECK_STATUS(zen_engine_call_tool(engine, "chat",
                                      "{\"prompt\": \"x\", "
                                      "\"working_directory_absolute_path\": \"/tmp\"}",
                                      &out),
                 ZEN_STATUS_NO_PROVIDER);
    CHECK_MESSAGE("OPENAI_API_KEY");
    CHECK(out == SENTINEL);
    zen_engine_free(engine);
}

/* Copies the continuation id out of a tool's answer. */
static int continuation_id(const char *json, char *id, size_t len) {
    const char *key = "\"continuation_id\":\"";
    const char *start = json ? strstr(json, key) : NULL;
    if (start == NULL) return 0;
    start += strlen(key);
    const char *end = strchr(start, '"');
    if (end == NULL || (size_t)(end - start) >= len) return 0;
    memcpy(id, start, (size_t)(end - start));
    id[end - start] = '\0';
    return 1;
}

static void test_chat_and_continuation(const zen_engine *engine) {
    char args[512];
    char *first = NULL, *second = NULL;
    char id[64];

    chat_args(args, sizeof args, "first question (marker-7d2e)", NULL);
    CHECK_STATUS(zen_engine_call_tool(engine, "chat", args, &first), ZEN_STATUS_OK);
    CHECK_CONTAINS(first, "\"content\":\"Stand-in answer from o3");
    CHECK_CONTAINS(first, "\"status\":\"continuation_available\"");
    CHECK(continuation_id(first, id, sizeof id));

    chat_args(args, sizeof args, "second question", id);
    CHECK_STATUS(zen_engine_call_tool(engine, "chat", args, &second), ZEN_STATUS_OK);
    CHECK_CONTAINS(second, "Stand-in answer from o3");
    /* The second request carried the first turn as history. */
    CHECK(requests_mentioning("marker-7d2e") >= 2);
    zen_string_free(first);
    zen_string_free(second);

    char *metrics = NULL;
    CHECK_STATUS(zen_engine_metrics(engine, &metrics), ZEN_STATUS_OK);
    CHECK(metrics != NULL && strstr(metrics, "\"threads\":0") == NULL);
    zen_string_free(metrics);
}

static void test_provider_failures(void) {
    /* Its own engine, without retries, so that failures neither wait nor open
     * the breaker of the engine the other tests use. */
    zen_engine *engine = new_engine("\"ZEN_MAX_RETRIES\": \"0\", "
                                    "\"ZEN_BREAKER_FAILURES\": \"1000\", "
                                    "\"CUSTOM_READ_TIMEOUT\": \"0.5\"");
    char args[512];
    char *out = SENTINEL;
    chat_args(args, sizeof args, "fail please", NULL);

    standin("POST", "/_standin/script",
            "{\"status\": 400, \"error_message\": \"stand-in refuses\"}");
    CHECK_STATUS(zen_engine_call_tool(engine, "chat", args, &out), ZEN_STATUS_PROVIDER);
    CHECK_MESSAGE("stand-in refuses");

    standin("POST", "/_standin/script", "{\"status\": 429, \"always\": true}");
    CHECK_STATUS(zen_engine_call_tool(engine, "chat", args, &out), ZEN_STATUS_RATE_LIMITED);
    CHECK_MESSAGE("rate limiting");
    standin("POST", "/_standin/reset", NULL);

    standin("POST", "/_standin/script", "{\"delay_ms\": 3000, \"always\": true}");
    CHECK_STATUS(zen_engine_call_tool(engine, "chat", args, &out), ZEN_STATUS_TIMEOUT);
    CHECK_MESSAGE("did not answer");
    standin("POST", "/_standin/reset", NULL);

    CHECK(out == SENTINEL);
    zen_engine_free(engine);
}

/* ---- asynchronous calls ------------------------------------------------- */

struct outcome {
    pthread_mutex_t lock;
    pthread_cond_t done;
    int calls;
    zen_status status;
    char *output;          /* copy of output_json */
    int output_was_null;
    char message[1024];    /* last error, read inside the callback */
    pthread_t thread;
    const zen_engine *nested_engine; /* when set: call a tool from the callback */
    zen_status nested_status;
};

static void outcome_init(struct outcome *o) {
    memset(o, 0, sizeof *o);
    pthread_mutex_init(&o->lock, NULL);
    pthread_cond_init(&o->done, NULL);
    o->status = (zen_status)-1;
    o->nested_status = (zen_status)-1;
}

static void outcome_destroy(struct outcome *o) {
    free(o->output);
    pthread_mutex_destroy(&o->lock);
    pthread_cond_destroy(&o->done);
}

static void on_done(void *user_data, zen_status status, const char *output_json) {
    struct outcome *o = user_data;
    pthread_mutex_lock(&o->lock);
    o->calls++;
    o->status = status;
    o->thread = pthread_self();
    o->output_was_null = output_json == NULL;
    free(o->output);
    o->output = output_json ? strdup(output_json) : NULL;
    if (status != ZEN_STATUS_OK) last_error(o->message, sizeof o->message);
    if (o->nested_engine != NULL) {
        char *nested = NULL;
        o->nested_status = zen_engine_call_tool(o->nested_engine, "version", NULL, &nested);
        zen_string_free(nested);
    }
    pthread_cond_broadcast(&o->done);
    pthread_mutex_unlock(&o->lock);
}

/* Waits for the callback (at most a minute: a guard against hanging, not a
 * timing check). */
static void wait_for(struct outcome *o) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 60;
    pthread_mutex_lock(&o->lock);
    while (o->calls == 0) {
        if (pthread_cond_timedwait(&o->done, &o->lock, &deadline) != 0) break;
    }
    pthread_mutex_unlock(&o->lock);
    CHECK(o->calls == 1);
}

static void test_async(const zen_engine *engine) {
    char args[512];
    struct outcome o;
    zen_call *call = SENTINEL;
    chat_args(args, sizeof args, "asynchronous question", NULL);
    outcome_init(&o);

    /* Refused up front: the callback never runs and no handle is made. */
    CHECK_STATUS(zen_engine_call_tool_async(NULL, "chat", args, on_done, &o, &call),
                 ZEN_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(zen_engine_call_tool_async(engine, NULL, args, on_done, &o, &call),
                 ZEN_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(zen_engine_call_tool_async(engine, "chat", args, NULL, &o, &call),
                 ZEN_STATUS_NULL_ARGUMENT);
    CHECK_MESSAGE("`callback`");
    CHECK_STATUS(zen_engine_call_tool_async(engine, "chat", args, on_done, &o, NULL),
                 ZEN_STATUS_NULL_ARGUMENT);
    CHECK_MESSAGE("`out_handle`");
    CHECK_STATUS(zen_engine_call_tool_async(engine, "\xff", args, on_done, &o, &call),
                 ZEN_STATUS_INVALID_UTF8);
    CHECK_STATUS(zen_engine_call_tool_async(engine, "chat", "{", on_done, &o, &call),
                 ZEN_STATUS_INVALID_JSON);
    CHECK_STATUS(zen_engine_call_tool_async(engine, "nosuchtool", args, on_done, &o, &call),
                 ZEN_STATUS_UNKNOWN_TOOL);
    CHECK_MESSAGE("nosuchtool");
    CHECK(call == SENTINEL);
    CHECK_STATUS(zen_call_cancel(NULL), ZEN_STATUS_NULL_ARGUMENT);
    zen_call_free(NULL);

    /* A real call; the callback calls a blocking zen function itself. */
    o.nested_engine = engine;
    call = NULL;
    CHECK_STATUS(zen_engine_call_tool_async(engine, "chat", args, on_done, &o, &call),
                 ZEN_STATUS_OK);
    CHECK(call != NULL);
    wait_for(&o);
    CHECK_STATUS(o.status, ZEN_STATUS_OK);
    CHECK_CONTAINS(o.output, "Stand-in answer from o3");
    CHECK(!pthread_equal(o.thread, pthread_self()));
    CHECK_STATUS(o.nested_status, ZEN_STATUS_OK);
    /* Cancelling a finished call changes nothing. */
    CHECK_STATUS(zen_call_cancel(call), ZEN_STATUS_OK);
    zen_call_free(call);
    sleep_ms(50);
    CHECK(o.calls == 1);
    outcome_destroy(&o);

    /* A call that fails reports through the callback, with its message. */
    outcome_init(&o);
    call = NULL;
    CHECK_STATUS(zen_engine_call_tool_async(engine, "chat", "{}", on_done, &o, &call),
                 ZEN_STATUS_OK);
    wait_for(&o);
    CHECK_STATUS(o.status, ZEN_STATUS_INVALID_ARGUMENTS);
    CHECK(o.output_was_null);
    CHECK_CONTAINS(o.message, "prompt");
    zen_call_free(call);
    outcome_destroy(&o);
}

static void test_cancel(const zen_engine *engine) {
    char args[512];
    struct outcome o;
    zen_call *call = NULL;
    chat_args(args, sizeof args, "slow question (marker-c4nc)", NULL);
    outcome_init(&o);

    standin("POST", "/_standin/script", "{\"delay_ms\": 5000}");
    CHECK_STATUS(zen_engine_call_tool_async(engine, "chat", args, on_done, &o, &call),
                 ZEN_STATUS_OK);
    /* Wait until the request is at the stand-in, then cancel it mid-flight. */
    for (int i = 0; i < 3000 && requests_mentioning("marker-c4nc") < 1; i++) sleep_ms(10);
    CHECK(requests_mentioning("marker-c4nc") >= 1);
    CHECK_STATUS(zen_call_cancel(call), ZEN_STATUS_OK);
    CHECK_STATUS(zen_call_cancel(call), ZEN_STATUS_OK); /* twice is harmless */
    wait_for(&o);
    CHECK_STATUS(o.status, ZEN_STATUS_CANCELLED);
    CHECK(o.output_was_null && o.output == NULL);
    CHECK_CONTAINS(o.message, "cancelled");
    zen_call_free(call);
    outcome_destroy(&o);
    standin("POST", "/_standin/reset", NULL);

    /* Freeing the handle first does not cancel: the callback still comes. */
    outcome_init(&o);
    call = NULL;
    standin("POST", "/_standin/script", "{\"delay_ms\": 300}");
    CHECK_STATUS(zen_engine_call_tool_async(engine, "chat", args, on_done, &o, &call),
                 ZEN_STATUS_OK);
    zen_call_free(call);
    wait_for(&o);
    CHECK_STATUS(o.status, ZEN_STATUS_OK);
    CHECK_CONTAINS(o.output, "Stand-in answer from o3");
    outcome_destroy(&o);

    /* Freeing the engine first: the call holds what it needs. */
    zen_engine *own = new_engine(NULL);
    outcome_init(&o);
    call = NULL;
    CHECK_STATUS(zen_engine_call_tool_async(own, "chat", args, on_done, &o, &call),
                 ZEN_STATUS_OK);
    zen_engine_free(own);
    wait_for(&o);
    CHECK_STATUS(o.status, ZEN_STATUS_OK);
    zen_call_free(call);
    outcome_destroy(&o);
}

/* ---- eight threads at once ---------------------------------------------- */

#define THREADS 8

struct worker {
    const zen_engine *engine;
    pthread_barrier_t *start;
    int index;
};

static void *work(void *arg) {
    struct worker *w = arg;
    char args[512], prompt[64], tool[32], *out = NULL;
    snprintf(prompt, sizeof prompt, "question from thread %d", w->index);
    snprintf(tool, sizeof tool, "nosuch-%d", w->index);
    chat_args(args, sizeof args, prompt, NULL);
    pthread_barrier_wait(w->start);

    CHECK_STATUS(zen_engine_call_tool(w->engine, "chat", args, &out), ZEN_STATUS_OK);
    CHECK_CONTAINS(out, "Stand-in answer from o3");
    zen_string_free(out);

    out = NULL;
    CHECK_STATUS(zen_engine_list_tools(w->engine, &out), ZEN_STATUS_OK);
    zen_string_free(out);

    /* Each thread has its own last error. */
    CHECK_STATUS(zen_engine_call_tool(w->engine, tool, NULL, &out), ZEN_STATUS_UNKNOWN_TOOL);
    sleep_ms(20);
    CHECK_MESSAGE(tool);
    return NULL;
}

static void test_threads(const zen_engine *engine) {
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        workers[i].engine = engine;
        workers[i].start = &start;
        workers[i].index = i;
        CHECK(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < THREADS; i++) {
        char prompt[64];
        snprintf(prompt, sizeof prompt, "question from thread %d", i);
        CHECK(requests_mentioning(prompt) >= 1);
    }
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv) {
    if (argc != 3 || strncmp(argv[1], "http://127.0.0.1:", 17) != 0) {
        fprintf(stderr, "usage: %s http://127.0.0.1:PORT EXPECTED_VERSION\n", argv[0]);
        return 2;
    }
    snprintf(standin_url, sizeof standin_url, "%s", argv[1]);
    standin_port = atoi(argv[1] + 17);

    test_version(argv[2]);
    test_status_str();
    test_last_error();
    test_engine_new();

    zen_engine *engine = new_engine(NULL);
    test_listings(engine);
    test_call_errors(engine);
    test_no_provider();
    test_chat_and_continuation(engine);
    test_async(engine);
    test_cancel(engine);
    test_threads(engine);
    test_provider_failures();
    zen_engine_free(engine);

    if (failures) {
        fprintf(stderr, "zen_test: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("zen_test: all %d checks passed\n", checks);
    return 0;
}
