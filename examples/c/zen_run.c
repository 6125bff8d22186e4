/* Runs one zen tool and prints its answer (a JSON object).
 *
 *   zen_run TOOL [ARGS_JSON]
 *   zen_run --tools | --models | --metrics
 *
 * The engine reads its settings from the environment and a .env file, as the
 * MCP server does (GEMINI_API_KEY, OPENAI_API_KEY, DEFAULT_MODEL, ...).
 * For example:
 *
 *   OPENAI_API_KEY=sk-... ./zen_run chat \
 *     '{"prompt": "Name a prime.", "model": "o3",
 *       "working_directory_absolute_path": "/tmp"}'
 *
 * Build: cc -std=c11 zen_run.c $(pkg-config --cflags --libs zen) -o zen_run */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zen.h"

/* Prints why the last zen call on this thread failed. */
static void report(const char *what, zen_status status) {
    size_t needed = 0;
    char *message = NULL;
    /* Ask for the size, then fetch the message. */
    if (zen_last_error_message(NULL, 0, &needed) == ZEN_STATUS_BUFFER_TOO_SMALL &&
        (message = malloc(needed)) != NULL &&
        zen_last_error_message(message, needed, NULL) == ZEN_STATUS_OK) {
        fprintf(stderr, "zen_run: %s failed (%s, %d): %s\n", what, zen_status_str(status),
                (int)status, message);
    } else {
        fprintf(stderr, "zen_run: %s failed (%s, %d)\n", what, zen_status_str(status),
                (int)status);
    }
    free(message);
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s TOOL [ARGS_JSON]\n"
                        "       %s --tools | --models | --metrics\n"
                        "zen %s\n", argv[0], argv[0], zen_version());
        return 2;
    }

    zen_engine *engine = NULL;
    zen_status status = zen_engine_new(NULL, &engine);
    if (status != ZEN_STATUS_OK) {
        report("zen_engine_new", status);
        return 1;
    }

    char *out = NULL;
    const char *what = argv[1];
    if (strcmp(argv[1], "--tools") == 0) {
        status = zen_engine_list_tools(engine, &out);
    } else if (strcmp(argv[1], "--models") == 0) {
        status = zen_engine_list_models(engine, &out);
    } else if (strcmp(argv[1], "--metrics") == 0) {
        status = zen_engine_metrics(engine, &out);
    } else {
        /* Blocks until the tool answers; NULL arguments mean {}. */
        status = zen_engine_call_tool(engine, argv[1], argc == 3 ? argv[2] : NULL, &out);
    }

    int code = 0;
    if (status == ZEN_STATUS_OK) {
        printf("%s\n", out);
        zen_string_free(out);
    } else {
        report(what, status);
        code = 1;
    }
    zen_engine_free(engine);
    return code;
}
