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

/* Call a tool; returns 1 on a finished call (fills *ok), 0 on error (fills *err); -1 when the
 * tool returned input required (use call_outcome to see it). */
static int call(const char *tool, const char *json, exports_capsule_plugin_tools_call_tool_result_t *ok,
                capsule_plugin_types_error_t *err) {
    full_plugin_string_t name = str(tool), args = str(json);
    exports_capsule_plugin_tools_call_outcome_t out;
    if (!exports_capsule_plugin_tools_call_tool(&name, &args, NULL, &out, err)) return 0;
    if (out.tag != EXPORTS_CAPSULE_PLUGIN_TOOLS_CALL_OUTCOME_COMPLETE) {
        exports_capsule_plugin_tools_call_outcome_free(&out);
        return -1;
    }
    *ok = out.val.complete;
    return 1;
}

/* A resumption (what the host passes in a later round): `count` (key, JSON answer) pairs, and
 * `state` of `state_len` bytes (NULL: none). */
static capsule_plugin_types_resumption_t resumption(size_t count, const char *const pairs[][2], const void *state, size_t state_len) {
    capsule_plugin_types_resumption_t r;
    memset(&r, 0, sizeof r);
    r.responses.len = count;
    r.responses.ptr = malloc((count ? count : 1) * sizeof *r.responses.ptr);
    for (size_t i = 0; i < count; i++) {
        r.responses.ptr[i].f0 = str(pairs[i][0]);
        r.responses.ptr[i].f1 = str(pairs[i][1]);
    }
    r.state.is_some = state != NULL;
    if (state) {
        r.state.val.ptr = malloc(state_len ? state_len : 1);
        memcpy(r.state.val.ptr, state, state_len);
        r.state.val.len = state_len;
    }
    return r;
}

/* Call a tool with an optional resumption; returns 1 with *out filled, 0 on error (*err). */
static int call_outcome(const char *tool, const char *json, capsule_plugin_types_resumption_t *resume,
                        exports_capsule_plugin_tools_call_outcome_t *out, capsule_plugin_types_error_t *err) {
    full_plugin_string_t name = str(tool), args = str(json);
    return exports_capsule_plugin_tools_call_tool(&name, &args, resume, out, err) ? 1 : 0;
}

#endif
