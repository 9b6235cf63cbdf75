/* Helpers for native tests of C plugins: call the WIT exports the way the host does. */
#ifndef CAPSULE_TESTING_H
#define CAPSULE_TESTING_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "full_plugin.h"

static int failures = 0;
#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                         \
        }                                                                       \
    } while (0)

static full_plugin_string_t str(const char *s) {
    full_plugin_string_t out;
    full_plugin_string_dup(&out, s);
    return out;
}

static int str_eq(const full_plugin_string_t *s, const char *want) {
    return s->len == strlen(want) && memcmp(s->ptr, want, s->len) == 0;
}

static int str_has(const full_plugin_string_t *s, const char *needle) {
    char *copy = malloc(s->len + 1);
    memcpy(copy, s->ptr, s->len);
    copy[s->len] = 0;
    int found = strstr(copy, needle) != NULL;
    free(copy);
    return found;
}

/* Call a tool; returns 1 on success (fills *ok), 0 on error (fills *err). */
static int call(const char *tool, const char *json, exports_capsule_plugin_tools_call_tool_result_t *ok,
                capsule_plugin_types_error_t *err) {
    full_plugin_string_t name = str(tool), args = str(json);
    exports_capsule_plugin_tools_call_outcome_t out;
    if (!exports_capsule_plugin_tools_call_tool(&name, &args, &out, err)) return 0;
    *ok = out.val.complete;
    return 1;
}

#endif
