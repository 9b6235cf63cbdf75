/* capsule.c — the C SDK's implementation of the capsule:plugin@0.2.0 exports, on top of the
 * wit-bindgen C bindings in sdk-guest/c/bindings.
 *
 * Compile it with the plugin and with the macros of what the plugin provides: CAPSULE_TOOLS,
 * CAPSULE_RESOURCES, CAPSULE_PROMPTS (any subset). They pick the WIT world (tools-plugin,
 * tools-resources-plugin, ..., full-plugin; none = plugin-base), so the component exports
 * exactly those interfaces (and `completions` with resources or prompts); `capsule-cc --world ...`
 * sets them.
 *
 * Memory: everything handed to the bindings is malloc'ed (the generated post-return functions
 * free it), and the bindings' arguments are ours to free.
 */
#define CAPSULE_JSON_IMPLEMENTATION
#include "capsule.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(CAPSULE_TOOLS) && defined(CAPSULE_RESOURCES) && defined(CAPSULE_PROMPTS)
#include "full_plugin.h"
#define W(x) full_plugin_##x
#elif defined(CAPSULE_TOOLS) && defined(CAPSULE_RESOURCES)
#include "tools_resources_plugin.h"
#define W(x) tools_resources_plugin_##x
#elif defined(CAPSULE_TOOLS) && defined(CAPSULE_PROMPTS)
#include "tools_prompts_plugin.h"
#define W(x) tools_prompts_plugin_##x
#elif defined(CAPSULE_RESOURCES) && defined(CAPSULE_PROMPTS)
#include "resources_prompts_plugin.h"
#define W(x) resources_prompts_plugin_##x
#elif defined(CAPSULE_TOOLS)
#include "tools_plugin.h"
#define W(x) tools_plugin_##x
#elif defined(CAPSULE_RESOURCES)
#include "resources_plugin.h"
#define W(x) resources_plugin_##x
#elif defined(CAPSULE_PROMPTS)
#include "prompts_plugin.h"
#define W(x) prompts_plugin_##x
#else
#include "plugin_base.h"
#define W(x) plugin_base_##x
#endif

typedef W(string_t) wstring;

/* ------------------------------------------------------------------------------ helpers */

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort(); /* out of memory: the instance is gone anyway */
    return p;
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) abort();
    return p;
}

static void set_string(wstring *out, const char *s) { W(string_dup)(out, s ? s : ""); }

static void set_string_n(wstring *out, const char *s, size_t len) { W(string_dup_n)(out, s, len); }

static void set_option(W(option_string_t) *out, const char *s) {
    out->is_some = s != NULL;
    if (s) set_string(&out->val, s);
    else memset(&out->val, 0, sizeof out->val);
}

/* A NUL-terminated copy of a WIT string. */
static char *cstring(const wstring *s) {
    char *out = xmalloc(s->len + 1);
    memcpy(out, s->ptr, s->len);
    out[s->len] = '\0';
    return out;
}

static char *vformat(const char *fmt, va_list ap) {
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0) n = 0;
    char *out = xmalloc((size_t)n + 1);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    return out;
}

#define GROW(array, count, cap)                                              \
    do {                                                                     \
        if ((count) == (cap)) {                                              \
            (cap) = (cap) ? (cap) * 2 : 4;                                   \
            (array) = xrealloc((array), (cap) * sizeof *(array));            \
        }                                                                    \
    } while (0)

/* ------------------------------------------------------------------------------ errors */

static char *error_message; /* the current request's (one request per instance) */

capsule_status capsule_fail(capsule_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    free(error_message);
    error_message = vformat(fmt, ap);
    va_end(ap);
    return status == CAPSULE_OK ? CAPSULE_INTERNAL : status;
}

capsule_status capsule_fail_errno(int errnum, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *what = vformat(fmt, ap);
    va_end(ap);
    capsule_status status = CAPSULE_INTERNAL;
    if (errnum == ENOENT) status = CAPSULE_NOT_FOUND;
    else if (errnum == EACCES || errnum == EPERM || errnum == EROFS
#ifdef ENOTCAPABLE
             || errnum == ENOTCAPABLE
#endif
    )
        status = CAPSULE_DENIED;
    else if (errnum == EISDIR || errnum == ENOTDIR || errnum == ENAMETOOLONG) status = CAPSULE_INVALID_ARGUMENTS;
    capsule_fail(status, "%s: %s", what, strerror(errnum));
    free(what);
    return status;
}

#if defined(CAPSULE_TOOLS) || defined(CAPSULE_RESOURCES) || defined(CAPSULE_PROMPTS)
/* Fill a WIT error from a handler's status and the message it set. */
static void set_error(capsule_plugin_types_error_t *err, capsule_status status, const char *fallback) {
    const char *message = error_message ? error_message : fallback;
    if (status == CAPSULE_INPUT_REQUIRED && !error_message) {
        message = "the handler returned CAPSULE_INPUT_REQUIRED, which only tools and prompts can";
    }
    switch (status) {
    case CAPSULE_INVALID_ARGUMENTS: err->tag = CAPSULE_PLUGIN_TYPES_ERROR_INVALID_ARGUMENTS; break;
    case CAPSULE_NOT_FOUND: err->tag = CAPSULE_PLUGIN_TYPES_ERROR_NOT_FOUND; break;
    case CAPSULE_DENIED: err->tag = CAPSULE_PLUGIN_TYPES_ERROR_DENIED; break;
    default: err->tag = CAPSULE_PLUGIN_TYPES_ERROR_INTERNAL; break;
    }
    /* Every case carries a string in the same place of the union. */
    set_string(&err->val.internal, message);
    free(error_message);
    error_message = NULL;
}
#endif

/* ------------------------------------------------------------------------------ host */

void capsule_log(capsule_log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    wstring message = {(uint8_t *)text, strlen(text)};
    capsule_plugin_host_log((capsule_plugin_host_log_level_t)level, &message);
    free(text);
}

void capsule_progress(double progress, double total, const char *message) {
    wstring text = {(uint8_t *)message, message ? strlen(message) : 0};
    capsule_plugin_host_progress(progress, total < 0 ? NULL : &total, message ? &text : NULL);
}

bool capsule_cancelled(void) { return capsule_plugin_host_cancelled(); }

static capsule_json empty_object = {.type = CAPSULE_JSON_OBJECT};
static capsule_json *client_caps; /* the last answer of capsule_client_capabilities() */

const capsule_json *capsule_client_capabilities(void) {
    wstring text = {0};
    capsule_plugin_host_client_capabilities(&text);
    if (client_caps) {
        capsule_json_free(client_caps);
        free(client_caps);
    }
    client_caps = text.len ? capsule_json_parse((const char *)text.ptr, text.len, NULL, 0) : NULL;
    W(string_free)(&text);
    if (client_caps && client_caps->type != CAPSULE_JSON_OBJECT) {
        capsule_json_free(client_caps);
        free(client_caps);
        client_caps = NULL;
    }
    return client_caps ? client_caps : &empty_object;
}

bool capsule_client_supports(capsule_capability capability) {
    const capsule_json *caps = capsule_client_capabilities();
    const char *section = capability == CAPSULE_CAP_SAMPLING ? "sampling"
                          : capability == CAPSULE_CAP_ROOTS  ? "roots"
                                                             : "elicitation";
    const capsule_json *v = capsule_json_get(caps, section);
    if (!v || v->type != CAPSULE_JSON_OBJECT) return false;
    if (capability == CAPSULE_CAP_ELICITATION_URL) return capsule_json_get(v, "url") != NULL;
    /* Form mode: `elicitation: {}` (the 2025-06-18 shape) or with `form`. */
    if (capability == CAPSULE_CAP_ELICITATION) return capsule_json_get(v, "form") != NULL || capsule_json_get(v, "url") == NULL;
    return true;
}

void capsule_resource_updated(const char *uri) {
    wstring text = {(uint8_t *)uri, uri ? strlen(uri) : 0};
    capsule_plugin_host_resource_updated(&text);
}

/* ------------------------------------------------------------------------------ plugin */

void exports_capsule_plugin_plugin_describe(exports_capsule_plugin_plugin_metadata_t *ret) {
    const capsule_plugin *p = &capsule_definition;
    memset(ret, 0, sizeof *ret);
    set_string(&ret->name, p->name ? p->name : "plugin");
    set_string(&ret->version, p->version ? p->version : "0.1.0");
    set_option(&ret->description, p->description);
    ret->requests.filesystem.len = p->filesystem_count;
    ret->requests.filesystem.ptr = xmalloc(p->filesystem_count * sizeof *ret->requests.filesystem.ptr);
    for (size_t i = 0; i < p->filesystem_count; i++) {
        exports_capsule_plugin_plugin_filesystem_request_t *f = &ret->requests.filesystem.ptr[i];
        set_string(&f->path, p->filesystem[i].path);
        f->access = p->filesystem[i].access == CAPSULE_READ_WRITE ? EXPORTS_CAPSULE_PLUGIN_PLUGIN_ACCESS_READ_WRITE
                                                                   : EXPORTS_CAPSULE_PLUGIN_PLUGIN_ACCESS_READ_ONLY;
        set_option(&f->reason, p->filesystem[i].reason);
    }
    ret->requests.network.len = p->network_count;
    ret->requests.network.ptr = xmalloc(p->network_count * sizeof(wstring));
    for (size_t i = 0; i < p->network_count; i++) set_string(&ret->requests.network.ptr[i], p->network[i]);
    ret->requests.env.len = p->env_count;
    ret->requests.env.ptr = xmalloc(p->env_count * sizeof(wstring));
    for (size_t i = 0; i < p->env_count; i++) set_string(&ret->requests.env.ptr[i], p->env[i]);
}

/* ------------------------------------------------------------------------------ content */

#if defined(CAPSULE_TOOLS) || defined(CAPSULE_PROMPTS)
typedef capsule_plugin_types_content_block_t block_t;

static void text_block(block_t *b, const char *text, size_t len) {
    memset(b, 0, sizeof *b);
    b->tag = CAPSULE_PLUGIN_TYPES_CONTENT_BLOCK_TEXT;
    set_string_n(&b->val.text.text, text, len);
}
#endif

#if defined(CAPSULE_TOOLS) || defined(CAPSULE_RESOURCES) || defined(CAPSULE_PROMPTS)
static void resource_contents(capsule_plugin_types_resource_contents_t *c, const char *uri, const void *data, size_t len,
                              const char *mime_type, bool text) {
    memset(c, 0, sizeof *c);
    set_string(&c->uri, uri);
    set_option(&c->mime_type, mime_type);
    if (text) {
        c->body.tag = CAPSULE_PLUGIN_TYPES_RESOURCE_BODY_TEXT;
        set_string_n(&c->body.val.text, data, len);
    } else {
        c->body.tag = CAPSULE_PLUGIN_TYPES_RESOURCE_BODY_BLOB;
        c->body.val.blob.ptr = xmalloc(len);
        memcpy(c->body.val.blob.ptr, data, len);
        c->body.val.blob.len = len;
    }
}
#endif

/* ------------------------------------------------------------------------------ asking the client */

#if defined(CAPSULE_TOOLS) || defined(CAPSULE_PROMPTS)
#define MAX_STATE_BYTES (16 * 1024)

enum { ASK_ELICITATION, ASK_SAMPLING, ASK_LIST_ROOTS };

typedef struct {
    char *key;
    int kind;
    char *params; /* JSON text; NULL for roots/list */
} ask_t;

/* The current request's questions (one request per instance) and the previous round's answers. */
static struct {
    ask_t *items;
    size_t count, cap;
    char *problem; /* an empty or repeated key, reported by capsule_input_required */
    uint8_t *state;
    size_t state_len;
    bool has_state;
} asked;

static struct {
    bool active;
    size_t count;
    char **keys;
    capsule_json **values; /* NULL where the answer was not JSON */
    uint8_t *state;
    size_t state_len;
    bool has_state;
} resumed;

static char *dup_cstr(const char *s) {
    size_t n = strlen(s);
    char *out = xmalloc(n + 1);
    memcpy(out, s, n + 1);
    return out;
}

static void ask(const char *key, int kind, char *params) {
    if (!key || !*key) {
        if (!asked.problem) asked.problem = dup_cstr("an input request needs a non-empty key");
        free(params);
        return;
    }
    for (size_t i = 0; i < asked.count; i++) {
        if (strcmp(asked.items[i].key, key) == 0) {
            if (!asked.problem) {
                asked.problem = xmalloc(strlen(key) + 40);
                sprintf(asked.problem, "input request key `%s` is used twice", key);
            }
            free(params);
            return;
        }
    }
    GROW(asked.items, asked.count, asked.cap);
    asked.items[asked.count++] = (ask_t){dup_cstr(key), kind, params};
}

static char *jw_take(capsule_jw *w) {
    char *out = w->buf ? w->buf : dup_cstr("{}");
    w->buf = NULL;
    capsule_jw_free(w);
    return out;
}

void capsule_elicit(const char *key, const char *message, const char *requested_schema) {
    capsule_jw w = {0};
    capsule_jw_object(&w);
    capsule_jw_key(&w, "message");
    capsule_jw_string(&w, message);
    capsule_jw_key(&w, "requestedSchema");
    capsule_jw_raw(&w, requested_schema ? requested_schema : "{\"type\":\"object\",\"properties\":{}}");
    capsule_jw_end(&w);
    ask(key, ASK_ELICITATION, jw_take(&w));
}

void capsule_elicit_url(const char *key, const char *message, const char *url, const char *elicitation_id) {
    capsule_jw w = {0};
    capsule_jw_object(&w);
    capsule_jw_key(&w, "mode");
    capsule_jw_string(&w, "url");
    capsule_jw_key(&w, "message");
    capsule_jw_string(&w, message);
    capsule_jw_key(&w, "url");
    capsule_jw_string(&w, url);
    capsule_jw_key(&w, "elicitationId");
    capsule_jw_string(&w, elicitation_id);
    capsule_jw_end(&w);
    ask(key, ASK_ELICITATION, jw_take(&w));
}

void capsule_sample(const char *key, const char *params) { ask(key, ASK_SAMPLING, dup_cstr(params ? params : "{}")); }

void capsule_sample_text(const char *key, const char *prompt, long max_tokens, const char *system_prompt) {
    capsule_jw w = {0};
    capsule_jw_object(&w);
    capsule_jw_key(&w, "messages");
    capsule_jw_array(&w);
    capsule_jw_object(&w);
    capsule_jw_key(&w, "role");
    capsule_jw_string(&w, "user");
    capsule_jw_key(&w, "content");
    capsule_jw_object(&w);
    capsule_jw_key(&w, "type");
    capsule_jw_string(&w, "text");
    capsule_jw_key(&w, "text");
    capsule_jw_string(&w, prompt);
    capsule_jw_end(&w);
    capsule_jw_end(&w);
    capsule_jw_end(&w);
    capsule_jw_key(&w, "maxTokens");
    capsule_jw_int(&w, max_tokens);
    if (system_prompt) {
        capsule_jw_key(&w, "systemPrompt");
        capsule_jw_string(&w, system_prompt);
    }
    capsule_jw_end(&w);
    ask(key, ASK_SAMPLING, jw_take(&w));
}

void capsule_list_roots(const char *key) { ask(key, ASK_LIST_ROOTS, NULL); }

capsule_status capsule_input_required(const void *state, size_t len) {
    if (asked.problem) return capsule_fail(CAPSULE_INTERNAL, "%s", asked.problem);
    if (asked.count == 0) {
        return capsule_fail(CAPSULE_INTERNAL, "capsule_input_required without a request: call capsule_elicit, "
                                              "capsule_sample or capsule_list_roots first");
    }
    if (len > MAX_STATE_BYTES) {
        return capsule_fail(CAPSULE_INTERNAL, "input-required state is %zu bytes, over the host's limit of %d", len,
                            MAX_STATE_BYTES);
    }
    free(asked.state);
    asked.state = NULL;
    asked.has_state = state != NULL;
    asked.state_len = state ? len : 0;
    if (state) {
        asked.state = xmalloc(len);
        memcpy(asked.state, state, len);
    }
    return CAPSULE_INPUT_REQUIRED;
}

bool capsule_resuming(void) { return resumed.active; }

const capsule_json *capsule_response(const char *key) {
    for (size_t i = 0; i < resumed.count; i++) {
        if (strcmp(resumed.keys[i], key) == 0) return resumed.values[i];
    }
    return NULL;
}

const void *capsule_state(size_t *len) {
    if (len) *len = resumed.has_state ? resumed.state_len : 0;
    return resumed.has_state ? (resumed.state ? (const void *)resumed.state : (const void *)"") : NULL;
}

const char *capsule_elicit_action(const char *key) {
    return capsule_json_string(capsule_json_get(capsule_response(key), "action"), NULL);
}

const capsule_json *capsule_elicited(const char *key) {
    const char *action = capsule_elicit_action(key);
    if (!action || strcmp(action, "accept") != 0) return NULL;
    const capsule_json *content = capsule_json_get(capsule_response(key), "content");
    return content && content->type == CAPSULE_JSON_OBJECT ? content : &empty_object;
}

const char *capsule_sampled_text(const char *key, size_t *len) {
    const capsule_json *content = capsule_json_get(capsule_response(key), "content");
    if (!content) return NULL;
    size_t n = content->type == CAPSULE_JSON_ARRAY ? content->length : 1;
    for (size_t i = 0; i < n; i++) {
        const capsule_json *block = content->type == CAPSULE_JSON_ARRAY ? capsule_json_at(content, i) : content;
        const char *type = capsule_json_string(capsule_json_get(block, "type"), NULL);
        if (type && strcmp(type, "text") == 0) {
            const char *text = capsule_json_string(capsule_json_get(block, "text"), len);
            if (text) return text;
        }
    }
    return NULL;
}

const capsule_json *capsule_roots(const char *key) {
    const capsule_json *roots = capsule_json_get(capsule_response(key), "roots");
    return roots && roots->type == CAPSULE_JSON_ARRAY ? roots : NULL;
}

/* Start a round: forget earlier questions, take over the host's answers (and free its copy). */
static void round_begin(capsule_plugin_types_resumption_t *resume) {
    memset(&resumed, 0, sizeof resumed);
    if (!resume) return;
    resumed.active = true;
    resumed.count = resume->responses.len;
    resumed.keys = xmalloc(resumed.count * sizeof *resumed.keys);
    resumed.values = xmalloc(resumed.count * sizeof *resumed.values);
    for (size_t i = 0; i < resumed.count; i++) {
        resumed.keys[i] = cstring(&resume->responses.ptr[i].f0);
        const wstring *json = &resume->responses.ptr[i].f1;
        resumed.values[i] = capsule_json_parse((const char *)json->ptr, json->len, NULL, 0);
    }
    resumed.has_state = resume->state.is_some;
    if (resume->state.is_some) {
        resumed.state_len = resume->state.val.len;
        resumed.state = xmalloc(resumed.state_len);
        memcpy(resumed.state, resume->state.val.ptr, resumed.state_len);
    }
    capsule_plugin_types_resumption_free(resume);
}

static void round_end(void) {
    for (size_t i = 0; i < resumed.count; i++) {
        free(resumed.keys[i]);
        capsule_json_free(resumed.values[i]);
        free(resumed.values[i]);
    }
    free(resumed.keys);
    free(resumed.values);
    free(resumed.state);
    memset(&resumed, 0, sizeof resumed);
    for (size_t i = 0; i < asked.count; i++) {
        free(asked.items[i].key);
        free(asked.items[i].params);
    }
    free(asked.items);
    free(asked.problem);
    free(asked.state);
    memset(&asked, 0, sizeof asked);
}

/* The questions asked in this round as the WIT record (taking over the SDK's copies). */
static void input_required_record(capsule_plugin_types_input_required_t *out) {
    memset(out, 0, sizeof *out);
    out->requests.len = asked.count;
    out->requests.ptr = xmalloc(asked.count * sizeof *out->requests.ptr);
    for (size_t i = 0; i < asked.count; i++) {
        capsule_plugin_types_tuple2_string_input_request_t *r = &out->requests.ptr[i];
        memset(r, 0, sizeof *r);
        set_string(&r->f0, asked.items[i].key);
        switch (asked.items[i].kind) {
        case ASK_ELICITATION:
            r->f1.tag = CAPSULE_PLUGIN_TYPES_INPUT_REQUEST_ELICITATION;
            set_string(&r->f1.val.elicitation, asked.items[i].params);
            break;
        case ASK_SAMPLING:
            r->f1.tag = CAPSULE_PLUGIN_TYPES_INPUT_REQUEST_SAMPLING;
            set_string(&r->f1.val.sampling, asked.items[i].params);
            break;
        default: r->f1.tag = CAPSULE_PLUGIN_TYPES_INPUT_REQUEST_LIST_ROOTS; break;
        }
    }
    out->state.is_some = asked.has_state;
    if (asked.has_state) {
        out->state.val.ptr = asked.state ? asked.state : xmalloc(0);
        out->state.val.len = asked.state_len;
        asked.state = NULL;
    }
}
#endif

/* ------------------------------------------------------------------------------ tools */

#ifdef CAPSULE_TOOLS
struct capsule_result {
    block_t *blocks;
    size_t count, cap;
    capsule_jw structured;
    bool used_structured;
    bool is_error;
};

static block_t *next_block(capsule_result *out) {
    GROW(out->blocks, out->count, out->cap);
    return &out->blocks[out->count++];
}

capsule_status capsule_text_n(capsule_result *out, const char *text, size_t len) {
    text_block(next_block(out), text, len);
    return CAPSULE_OK;
}

capsule_status capsule_text(capsule_result *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    text_block(next_block(out), text, strlen(text));
    free(text);
    return CAPSULE_OK;
}

capsule_status capsule_image(capsule_result *out, const void *data, size_t len, const char *mime_type) {
    block_t *b = next_block(out);
    memset(b, 0, sizeof *b);
    b->tag = CAPSULE_PLUGIN_TYPES_CONTENT_BLOCK_IMAGE;
    b->val.image.data.ptr = xmalloc(len);
    memcpy(b->val.image.data.ptr, data, len);
    b->val.image.data.len = len;
    set_string(&b->val.image.mime_type, mime_type);
    return CAPSULE_OK;
}

capsule_status capsule_link(capsule_result *out, const char *uri, const char *name, const char *mime_type) {
    block_t *b = next_block(out);
    memset(b, 0, sizeof *b);
    b->tag = CAPSULE_PLUGIN_TYPES_CONTENT_BLOCK_RESOURCE_LINK;
    set_string(&b->val.resource_link.uri, uri);
    set_string(&b->val.resource_link.name, name);
    set_option(&b->val.resource_link.mime_type, mime_type);
    return CAPSULE_OK;
}

capsule_jw *capsule_structured(capsule_result *out) {
    out->used_structured = true;
    return &out->structured;
}

capsule_status capsule_tool_error(capsule_result *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    text_block(next_block(out), text, strlen(text));
    free(text);
    out->is_error = true;
    return CAPSULE_OK;
}

/* A null argument is "not given" (portable schemas make optional properties nullable). */
const capsule_json *capsule_arg(const capsule_json *args, const char *name) {
    const capsule_json *v = capsule_json_get(args, name);
    return v && v->type != CAPSULE_JSON_NULL ? v : NULL;
}

const char *capsule_arg_string(const capsule_json *args, const char *name, size_t *len) {
    return capsule_json_string(capsule_arg(args, name), len);
}

bool capsule_arg_number(const capsule_json *args, const char *name, double *out) {
    return capsule_json_number(capsule_arg(args, name), out);
}

bool capsule_arg_int(const capsule_json *args, const char *name, long long *out) {
    double x;
    if (!capsule_json_number(capsule_arg(args, name), &x)) return false;
    if (x != x || x < -9.2e18 || x > 9.2e18 || (double)(long long)x != x) return false;
    if (out) *out = (long long)x;
    return true;
}

bool capsule_arg_bool(const capsule_json *args, const char *name, bool *out) {
    return capsule_json_bool(capsule_arg(args, name), out);
}

static void set_hint(W(option_bool_t) *out, capsule_hint hint) {
    out->is_some = hint != CAPSULE_UNSET;
    out->val = hint == CAPSULE_YES;
}

static void set_json_option(exports_capsule_plugin_tools_option_json_t *out, const char *json) {
    out->is_some = json != NULL;
    if (json) set_string(&out->val, json);
}

/* ------------------------------------------------------------------------------ a tool's _meta */

static const char *task_support_name(capsule_task_support support) {
    switch (support) {
    case CAPSULE_TASK_FORBIDDEN: return "forbidden";
    case CAPSULE_TASK_OPTIONAL: return "optional";
    case CAPSULE_TASK_REQUIRED: return "required";
    default: return NULL;
    }
}

static bool json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t json_skip_space(const char *text, size_t i, size_t n) {
    while (i < n && json_space(text[i])) i++;
    return i;
}

/* Where the JSON value that starts at text[i] ends, in text the parser has accepted. */
static size_t json_value_end(const char *text, size_t i, size_t n) {
    if (text[i] == '"') {
        for (i++; i < n && text[i] != '"'; i++) {
            if (text[i] == '\\') i++;
        }
        return i + 1;
    }
    if (text[i] == '{' || text[i] == '[') {
        int depth = 0;
        for (; i < n; i++) {
            char c = text[i];
            if (c == '"') i = json_value_end(text, i, n) - 1;
            else if (c == '{' || c == '[') depth++;
            else if ((c == '}' || c == ']') && --depth == 0) return i + 1;
        }
        return n;
    }
    while (i < n && text[i] != ',' && text[i] != '}' && text[i] != ']' && !json_space(text[i])) i++;
    return i;
}

/* Whether the JSON string `raw` (`len` bytes, quotes and escapes included) decodes to `want`. */
static bool json_key_is(const char *raw, size_t len, const char *want) {
    capsule_json *key = capsule_json_parse(raw, len, NULL, 0);
    size_t key_len = 0;
    const char *s = capsule_json_string(key, &key_len);
    bool same = s && key_len == strlen(want) && memcmp(s, want, key_len) == 0;
    capsule_json_free(key);
    return same;
}

/* The _meta list-tools hands the host for `t` when it differs from `t->meta`: malloc'ed JSON text,
 * `meta` with CAPSULE_TASK_SUPPORT_KEY set to the declared task support (the author's members copied
 * as written, any of them named CAPSULE_TASK_SUPPORT_KEY left out). NULL: `t->meta` goes out as
 * written, which is the case without a declaration, and (logged) for a task support that is none of
 * the constants or a `meta` that is not a JSON object (the host refuses such a _meta). */
static char *tool_meta(const capsule_tool *t) {
    if (t->task_support == CAPSULE_TASK_UNSET) return NULL;
    const char *support = task_support_name(t->task_support);
    if (!support) {
        capsule_log(CAPSULE_LOG_ERROR,
                    "tool `%s`: task_support %d is not CAPSULE_TASK_FORBIDDEN, CAPSULE_TASK_OPTIONAL or "
                    "CAPSULE_TASK_REQUIRED; it declares nothing", t->name, (int)t->task_support);
        return NULL;
    }
    const char *meta = t->meta;
    size_t n = meta ? strlen(meta) : 0;
    if (meta) {
        char err[128] = "not an object";
        capsule_json *parsed = capsule_json_parse(meta, n, err, sizeof err);
        bool object = parsed && parsed->type == CAPSULE_JSON_OBJECT;
        capsule_json_free(parsed);
        if (!object) {
            capsule_log(CAPSULE_LOG_ERROR, "tool `%s`: meta is not a JSON object (%s), so it cannot carry task_support",
                        t->name, err);
            return NULL;
        }
    }
    /* The members kept take no more room than in `meta`; the key and its value are added. */
    size_t size = n + sizeof CAPSULE_TASK_SUPPORT_KEY + 32;
    char *out = xmalloc(size);
    size_t len = 0;
    out[len++] = '{';
    if (meta) {
        size_t i = json_skip_space(meta, 0, n) + 1; /* past '{' */
        for (;;) {
            i = json_skip_space(meta, i, n);
            if (i >= n || meta[i] == '}') break;
            size_t key = i, key_end = json_value_end(meta, i, n);
            size_t value = json_skip_space(meta, json_skip_space(meta, key_end, n) + 1, n); /* past ':' */
            size_t value_end = json_value_end(meta, value, n);
            i = json_skip_space(meta, value_end, n);
            if (i < n && meta[i] == ',') i++;
            if (json_key_is(meta + key, key_end - key, CAPSULE_TASK_SUPPORT_KEY)) continue;
            if (len > 1) out[len++] = ',';
            memcpy(out + len, meta + key, key_end - key);
            len += key_end - key;
            out[len++] = ':';
            memcpy(out + len, meta + value, value_end - value);
            len += value_end - value;
        }
    }
    snprintf(out + len, size - len, "%s\"" CAPSULE_TASK_SUPPORT_KEY "\":\"%s\"}", len > 1 ? "," : "", support);
    return out;
}

void exports_capsule_plugin_tools_list_tools(exports_capsule_plugin_tools_list_tool_t *ret) {
    const capsule_plugin *p = &capsule_definition;
    ret->len = p->tool_count;
    ret->ptr = xmalloc(p->tool_count * sizeof *ret->ptr);
    for (size_t i = 0; i < p->tool_count; i++) {
        const capsule_tool *t = &p->tools[i];
        exports_capsule_plugin_tools_tool_t *w = &ret->ptr[i];
        memset(w, 0, sizeof *w);
        set_string(&w->name, t->name);
        set_option(&w->title, t->title);
        set_option(&w->description, t->description);
        set_string(&w->input_schema, t->input_schema ? t->input_schema : CAPSULE_NO_ARGUMENTS);
        set_json_option(&w->output_schema, t->output_schema);
        bool hints = t->read_only || t->destructive || t->idempotent || t->open_world;
        w->annotations.is_some = hints;
        if (hints) {
            set_hint(&w->annotations.val.read_only_hint, t->read_only);
            set_hint(&w->annotations.val.destructive_hint, t->destructive);
            set_hint(&w->annotations.val.idempotent_hint, t->idempotent);
            set_hint(&w->annotations.val.open_world_hint, t->open_world);
        }
        char *meta = tool_meta(t);
        set_json_option(&w->meta, meta ? meta : t->meta);
        free(meta);
    }
}

bool exports_capsule_plugin_tools_call_tool(wstring *name, exports_capsule_plugin_tools_json_t *arguments,
                                            exports_capsule_plugin_tools_resumption_t *maybe_resume,
                                            exports_capsule_plugin_tools_call_outcome_t *ret,
                                            exports_capsule_plugin_tools_error_t *err) {
    const capsule_plugin *p = &capsule_definition;
    char *tool_name = cstring(name);
    W(string_free)(name);
    round_begin(maybe_resume);
    const capsule_tool *tool = NULL;
    for (size_t i = 0; i < p->tool_count; i++) {
        if (strcmp(p->tools[i].name, tool_name) == 0) tool = &p->tools[i];
    }
    if (!tool) {
        set_error(err, capsule_fail(CAPSULE_NOT_FOUND, "unknown tool `%s`", tool_name), "");
        free(tool_name);
        W(string_free)(arguments);
        round_end();
        return false;
    }
    free(tool_name);

    char parse_error[128] = "";
    capsule_json *args = arguments->len ? capsule_json_parse((const char *)arguments->ptr, arguments->len, parse_error, sizeof parse_error)
                                        : capsule_json_parse("{}", 2, NULL, 0);
    W(string_free)(arguments);
    if (!args || args->type != CAPSULE_JSON_OBJECT) {
        set_error(err, capsule_fail(CAPSULE_INVALID_ARGUMENTS, "invalid arguments: %s", args ? "expected a JSON object" : parse_error), "");
        capsule_json_free(args);
        free(args);
        round_end();
        return false;
    }

    capsule_result res = {0};
    capsule_status status = tool->call(args, &res);
    capsule_json_free(args);
    free(args);
    if (status == CAPSULE_INPUT_REQUIRED && asked.count == 0) {
        status = capsule_fail(CAPSULE_INTERNAL, "tool `%s` returned CAPSULE_INPUT_REQUIRED without capsule_input_required()", tool->name);
    }
    if (status == CAPSULE_INPUT_REQUIRED) {
        /* What the handler wrote to `out` is dropped: this round has no result. */
        for (size_t i = 0; i < res.count; i++) capsule_plugin_types_content_block_free(&res.blocks[i]);
        free(res.blocks);
        capsule_jw_free(&res.structured);
        memset(ret, 0, sizeof *ret);
        ret->tag = EXPORTS_CAPSULE_PLUGIN_TOOLS_CALL_OUTCOME_INPUT_REQUIRED;
        input_required_record(&ret->val.input_required);
        round_end();
        return true;
    }
    round_end();
    if (status == CAPSULE_OK && res.used_structured && (res.structured.failed || res.structured.depth != 0 || !res.structured.buf)) {
        status = capsule_fail(CAPSULE_INTERNAL, "tool `%s` wrote incomplete structured content", tool->name);
    }
    if (status != CAPSULE_OK) {
        set_error(err, status, "the tool failed");
        for (size_t i = 0; i < res.count; i++) capsule_plugin_types_content_block_free(&res.blocks[i]);
        free(res.blocks);
        capsule_jw_free(&res.structured);
        return false;
    }

    exports_capsule_plugin_tools_call_tool_result_t *r = &ret->val.complete;
    memset(ret, 0, sizeof *ret);
    ret->tag = EXPORTS_CAPSULE_PLUGIN_TOOLS_CALL_OUTCOME_COMPLETE;
    size_t extra = res.used_structured ? 1 : 0;
    r->content.len = res.count + extra;
    r->content.ptr = xmalloc(r->content.len * sizeof *r->content.ptr);
    if (extra) text_block(&r->content.ptr[0], res.structured.buf, res.structured.len);
    if (res.count) memcpy(r->content.ptr + extra, res.blocks, res.count * sizeof *res.blocks);
    free(res.blocks);
    if (res.used_structured) {
        r->structured_content.is_some = true;
        set_string_n(&r->structured_content.val, res.structured.buf, res.structured.len);
    }
    capsule_jw_free(&res.structured);
    r->is_error = res.is_error;
    return true;
}
#endif /* CAPSULE_TOOLS */

/* ------------------------------------------------------------------------------ resources */

#ifdef CAPSULE_RESOURCES
struct capsule_contents {
    capsule_plugin_types_resource_contents_t *items;
    size_t count, cap;
    const char *default_mime;
};

struct capsule_resource_list {
    exports_capsule_plugin_resources_resource_t *items;
    size_t count, cap;
};

#define CAPSULE_MAX_VARS 16
struct capsule_vars {
    size_t count;
    char *names[CAPSULE_MAX_VARS];
    char *values[CAPSULE_MAX_VARS];
};

capsule_status capsule_contents_text(capsule_contents *out, const char *uri, const char *text, size_t len, const char *mime_type) {
    GROW(out->items, out->count, out->cap);
    resource_contents(&out->items[out->count++], uri, text, len, mime_type ? mime_type : out->default_mime, true);
    return CAPSULE_OK;
}

capsule_status capsule_contents_blob(capsule_contents *out, const char *uri, const void *data, size_t len, const char *mime_type) {
    GROW(out->items, out->count, out->cap);
    resource_contents(&out->items[out->count++], uri, data, len, mime_type ? mime_type : out->default_mime, false);
    return CAPSULE_OK;
}

const char *capsule_var(const capsule_vars *vars, const char *name) {
    for (size_t i = 0; i < vars->count; i++) {
        if (strcmp(vars->names[i], name) == 0) return vars->values[i];
    }
    return NULL;
}

void capsule_list_add(capsule_resource_list *list, const char *uri, const char *name, const char *mime_type,
                      const char *description, long long size) {
    GROW(list->items, list->count, list->cap);
    exports_capsule_plugin_resources_resource_t *r = &list->items[list->count++];
    memset(r, 0, sizeof *r);
    set_string(&r->uri, uri);
    set_string(&r->name, name);
    set_option(&r->mime_type, mime_type);
    set_option(&r->description, description);
    r->size.is_some = size >= 0;
    r->size.val = size >= 0 ? (uint64_t)size : 0;
}

void exports_capsule_plugin_resources_list_resources(exports_capsule_plugin_resources_list_resource_t *ret) {
    const capsule_plugin *p = &capsule_definition;
    capsule_resource_list list = {0};
    for (size_t i = 0; i < p->resource_count; i++) {
        const capsule_resource *r = &p->resources[i];
        capsule_list_add(&list, r->uri, r->name, r->mime_type, r->description, -1);
        set_option(&list.items[list.count - 1].title, r->title);
    }
    if (p->list_resources) p->list_resources(&list);
    ret->ptr = list.items;
    ret->len = list.count;
}

void exports_capsule_plugin_resources_list_resource_templates(exports_capsule_plugin_resources_list_resource_template_t *ret) {
    const capsule_plugin *p = &capsule_definition;
    ret->len = p->template_count;
    ret->ptr = xmalloc(p->template_count * sizeof *ret->ptr);
    for (size_t i = 0; i < p->template_count; i++) {
        const capsule_template *t = &p->templates[i];
        exports_capsule_plugin_resources_resource_template_t *w = &ret->ptr[i];
        memset(w, 0, sizeof *w);
        set_string(&w->uri_template, t->uri_template);
        set_string(&w->name, t->name);
        set_option(&w->title, t->title);
        set_option(&w->description, t->description);
        set_option(&w->mime_type, t->mime_type);
    }
}

/* --- URI template matching, with the rules the host routes by (shared test vectors:
 * tests/vectors/uri_templates.json): literal text matches itself; {name} matches one or more
 * characters other than '/', '?' and '#'; {+name} one or more characters of any kind; any other
 * expression never matches; when several splits fit, earlier variables take as much as they can;
 * values are percent-decoded and must be UTF-8. Time: the URI's length times the template's parts. */

static bool simple_name(const char *s, size_t n) {
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) return false;
    }
    return true;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool valid_utf8(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t need;
        unsigned cp, min;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f; min = 0x80; }
        else if (c >= 0xe0 && c <= 0xef) { need = 2; cp = c & 0x0f; min = 0x800; }
        else if (c >= 0xf0 && c <= 0xf4) { need = 3; cp = c & 0x07; min = 0x10000; }
        else return false;
        for (size_t k = 1; k <= need; k++) {
            if (i + k >= n || (s[i + k] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += need + 1;
    }
    return true;
}

/* Decode %XX escapes (a '%' without two hex digits stays); NULL if the result is not UTF-8. */
static char *percent_decode(const char *s, size_t n) {
    char *out = xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[k++] = s[i];
        }
    }
    out[k] = '\0';
    if (!valid_utf8((const unsigned char *)out, k)) {
        free(out);
        return NULL;
    }
    return out;
}

static void vars_clear(capsule_vars *v) {
    for (size_t i = 0; i < v->count; i++) {
        free(v->names[i]);
        free(v->values[i]);
    }
    v->count = 0;
}

/* One piece of a parsed template: literal text, or a variable ({name}, or {+name} when reserved). */
typedef struct {
    const char *text;
    size_t len;
    bool var;
    bool reserved;
} template_part;

/* Whether a variable may cover byte `c` ('/', '?' and '#' are ASCII: never inside a character). */
static bool var_allows(unsigned char c, bool reserved) {
    return reserved || (c != '/' && c != '?' && c != '#');
}

static bool template_match(const char *tmpl, const char *uri, capsule_vars *v) {
    template_part parts[2 * CAPSULE_MAX_VARS + 1];
    size_t np = 0;
    v->count = 0;
    for (const char *t = tmpl; *t;) {
        const char *open = strchr(t, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (!close) { /* the rest, an unclosed '{' included, is literal text */
            parts[np++] = (template_part){t, strlen(t), false, false};
            break;
        }
        if (open > t) parts[np++] = (template_part){t, (size_t)(open - t), false, false};
        const char *name = open + 1;
        bool reserved = *name == '+';
        if (reserved) name++;
        if (!simple_name(name, (size_t)(close - name))) return false; /* never matches */
        if (np + 2 > sizeof parts / sizeof parts[0]) return false;
        parts[np++] = (template_part){name, (size_t)(close - name), true, reserved};
        t = close + 1;
    }
    size_t n = strlen(uri);
    /* fits[i * (n + 1) + p]: parts[i..] match uri[p..] (only at character boundaries) */
    unsigned char *fits = calloc((np + 1) * (n + 1), 1);
    if (!fits) abort();
#define FITS(i, p) fits[(size_t)(i) * (n + 1) + (size_t)(p)]
    FITS(np, n) = 1;
    for (size_t i = np; i-- > 0;) {
        const template_part *part = &parts[i];
        if (!part->var) {
            for (size_t p = 0; p + part->len <= n; p++)
                FITS(i, p) = FITS(i + 1, p + part->len) && memcmp(uri + p, part->text, part->len) == 0;
        } else {
            bool reach = false;
            for (size_t p = n; p-- > 0;) {
                reach = var_allows((unsigned char)uri[p], part->reserved) && (FITS(i + 1, p + 1) || reach);
                FITS(i, p) = reach && ((unsigned char)uri[p] & 0xc0) != 0x80;
            }
        }
    }
    bool ok = FITS(0, 0);
    size_t p = 0;
    for (size_t i = 0; ok && i < np; i++) {
        const template_part *part = &parts[i];
        if (!part->var) {
            p += part->len;
            continue;
        }
        size_t end = 0;
        for (size_t q = p; q < n && var_allows((unsigned char)uri[q], part->reserved);) {
            q++;
            if (FITS(i + 1, q)) end = q;
        }
        char *value = end > p ? percent_decode(uri + p, end - p) : NULL;
        if (!value || v->count >= CAPSULE_MAX_VARS) {
            free(value);
            ok = false;
            break;
        }
        v->names[v->count] = xmalloc(part->len + 1);
        memcpy(v->names[v->count], part->text, part->len);
        v->names[v->count][part->len] = '\0';
        v->values[v->count++] = value;
        p = end;
    }
#undef FITS
    free(fits);
    if (!ok) vars_clear(v);
    return ok;
}

bool exports_capsule_plugin_resources_read_resource(wstring *uri_in, exports_capsule_plugin_resources_list_resource_contents_t *ret,
                                                    exports_capsule_plugin_resources_error_t *err) {
    const capsule_plugin *p = &capsule_definition;
    char *uri = cstring(uri_in);
    W(string_free)(uri_in);
    capsule_contents out = {0};
    capsule_status status = CAPSULE_NOT_FOUND;
    bool found = false;
    for (size_t i = 0; i < p->resource_count && !found; i++) {
        if (strcmp(p->resources[i].uri, uri) == 0) {
            found = true;
            out.default_mime = p->resources[i].mime_type;
            status = p->resources[i].read(uri, &out);
        }
    }
    for (size_t i = 0; i < p->template_count && !found; i++) {
        capsule_vars vars = {0};
        if (template_match(p->templates[i].uri_template, uri, &vars)) {
            found = true;
            out.default_mime = p->templates[i].mime_type;
            status = p->templates[i].read(&vars, uri, &out);
            vars_clear(&vars);
        }
    }
    if (!found) capsule_fail(CAPSULE_NOT_FOUND, "unknown resource `%s`", uri);
    free(uri);
    if (status != CAPSULE_OK) {
        set_error(err, status, "reading the resource failed");
        for (size_t i = 0; i < out.count; i++) capsule_plugin_types_resource_contents_free(&out.items[i]);
        free(out.items);
        return false;
    }
    ret->ptr = out.items;
    ret->len = out.count;
    return true;
}
#endif /* CAPSULE_RESOURCES */

/* ------------------------------------------------------------------------------ prompts */

#if defined(CAPSULE_RESOURCES) || defined(CAPSULE_PROMPTS)
struct capsule_prompt_args {
    size_t count;
    char **names;
    char **values;
};

const char *capsule_prompt_arg(const capsule_prompt_args *args, const char *name) {
    for (size_t i = 0; args && i < args->count; i++) {
        if (strcmp(args->names[i], name) == 0) return args->values[i];
    }
    return NULL;
}

/* The WIT list of (name, value) pairs as capsule_prompt_args (and the list freed). */
static capsule_prompt_args args_from(W(list_tuple2_string_string_t) *list) {
    capsule_prompt_args args = {list->len, xmalloc(list->len * sizeof(char *)), xmalloc(list->len * sizeof(char *))};
    for (size_t i = 0; i < list->len; i++) {
        args.names[i] = cstring(&list->ptr[i].f0);
        args.values[i] = cstring(&list->ptr[i].f1);
    }
    W(list_tuple2_string_string_free)(list);
    return args;
}

static void args_free(capsule_prompt_args *args) {
    for (size_t i = 0; i < args->count; i++) {
        free(args->names[i]);
        free(args->values[i]);
    }
    free(args->names);
    free(args->values);
}
#endif

#ifdef CAPSULE_PROMPTS
struct capsule_messages {
    exports_capsule_plugin_prompts_prompt_message_t *items;
    size_t count, cap;
};

static exports_capsule_plugin_prompts_prompt_message_t *next_message(capsule_messages *out, capsule_role role) {
    GROW(out->items, out->count, out->cap);
    exports_capsule_plugin_prompts_prompt_message_t *m = &out->items[out->count++];
    memset(m, 0, sizeof *m);
    m->role = role == CAPSULE_ASSISTANT ? CAPSULE_PLUGIN_TYPES_ROLE_ASSISTANT : CAPSULE_PLUGIN_TYPES_ROLE_USER;
    return m;
}

capsule_status capsule_message(capsule_messages *out, capsule_role role, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    text_block(&next_message(out, role)->content, text, strlen(text));
    free(text);
    return CAPSULE_OK;
}

capsule_status capsule_message_resource(capsule_messages *out, capsule_role role, const char *uri, const char *text, size_t len,
                                        const char *mime_type) {
    block_t *b = &next_message(out, role)->content;
    b->tag = CAPSULE_PLUGIN_TYPES_CONTENT_BLOCK_EMBEDDED_RESOURCE;
    resource_contents(&b->val.embedded_resource, uri, text, len, mime_type, true);
    return CAPSULE_OK;
}

void exports_capsule_plugin_prompts_list_prompts(exports_capsule_plugin_prompts_list_prompt_t *ret) {
    const capsule_plugin *p = &capsule_definition;
    ret->len = p->prompt_count;
    ret->ptr = xmalloc(p->prompt_count * sizeof *ret->ptr);
    for (size_t i = 0; i < p->prompt_count; i++) {
        const capsule_prompt *q = &p->prompts[i];
        exports_capsule_plugin_prompts_prompt_t *w = &ret->ptr[i];
        memset(w, 0, sizeof *w);
        set_string(&w->name, q->name);
        set_option(&w->title, q->title);
        set_option(&w->description, q->description);
        w->arguments.len = q->argument_count;
        w->arguments.ptr = xmalloc(q->argument_count * sizeof *w->arguments.ptr);
        for (size_t k = 0; k < q->argument_count; k++) {
            exports_capsule_plugin_prompts_prompt_argument_t *a = &w->arguments.ptr[k];
            memset(a, 0, sizeof *a);
            set_string(&a->name, q->arguments[k].name);
            set_option(&a->description, q->arguments[k].description);
            a->required = q->arguments[k].required;
        }
    }
}

bool exports_capsule_plugin_prompts_get_prompt(wstring *name, W(list_tuple2_string_string_t) *arguments,
                                               exports_capsule_plugin_prompts_resumption_t *maybe_resume,
                                               exports_capsule_plugin_prompts_prompt_outcome_t *ret,
                                               exports_capsule_plugin_prompts_error_t *err) {
    const capsule_plugin *p = &capsule_definition;
    char *prompt_name = cstring(name);
    W(string_free)(name);
    capsule_prompt_args args = args_from(arguments);
    round_begin(maybe_resume);

    const capsule_prompt *prompt = NULL;
    for (size_t i = 0; i < p->prompt_count; i++) {
        if (strcmp(p->prompts[i].name, prompt_name) == 0) prompt = &p->prompts[i];
    }
    capsule_status status = CAPSULE_OK;
    capsule_messages out = {0};
    if (!prompt) {
        status = capsule_fail(CAPSULE_NOT_FOUND, "unknown prompt `%s`", prompt_name);
    } else {
        for (size_t k = 0; k < prompt->argument_count && status == CAPSULE_OK; k++) {
            if (prompt->arguments[k].required && !capsule_prompt_arg(&args, prompt->arguments[k].name)) {
                status = capsule_fail(CAPSULE_INVALID_ARGUMENTS, "missing required argument `%s`", prompt->arguments[k].name);
            }
        }
        if (status == CAPSULE_OK) status = prompt->render(&args, &out);
    }
    if (status == CAPSULE_INPUT_REQUIRED && asked.count == 0) {
        status = capsule_fail(CAPSULE_INTERNAL, "prompt `%s` returned CAPSULE_INPUT_REQUIRED without capsule_input_required()", prompt_name);
    }
    free(prompt_name);
    args_free(&args);
    if (status == CAPSULE_INPUT_REQUIRED) {
        for (size_t i = 0; i < out.count; i++) exports_capsule_plugin_prompts_prompt_message_free(&out.items[i]);
        free(out.items);
        memset(ret, 0, sizeof *ret);
        ret->tag = EXPORTS_CAPSULE_PLUGIN_PROMPTS_PROMPT_OUTCOME_INPUT_REQUIRED;
        input_required_record(&ret->val.input_required);
        round_end();
        return true;
    }
    round_end();
    if (status != CAPSULE_OK) {
        set_error(err, status, "rendering the prompt failed");
        for (size_t i = 0; i < out.count; i++) exports_capsule_plugin_prompts_prompt_message_free(&out.items[i]);
        free(out.items);
        return false;
    }
    memset(ret, 0, sizeof *ret);
    ret->tag = EXPORTS_CAPSULE_PLUGIN_PROMPTS_PROMPT_OUTCOME_COMPLETE;
    set_option(&ret->val.complete.description, prompt->description);
    ret->val.complete.messages.ptr = out.items;
    ret->val.complete.messages.len = out.count;
    return true;
}
#endif /* CAPSULE_PROMPTS */

/* ------------------------------------------------------------------------------ completions */

#if defined(CAPSULE_RESOURCES) || defined(CAPSULE_PROMPTS)
#define MAX_COMPLETION_VALUES 100

struct capsule_completion {
    wstring *values;
    size_t count; /* stored (at most MAX_COMPLETION_VALUES) */
    size_t total; /* suggested */
};

void capsule_suggest(capsule_completion *out, const char *candidate) {
    out->total++;
    if (out->count >= MAX_COMPLETION_VALUES) return;
    if (!out->values) out->values = xmalloc(MAX_COMPLETION_VALUES * sizeof *out->values);
    set_string(&out->values[out->count++], candidate);
}

bool capsule_suggest_matching(capsule_completion *out, const char *candidate, const char *value) {
    size_t n = value ? strlen(value) : 0;
    for (size_t i = 0; i < n; i++) {
        char a = candidate[i], b = value[i];
        if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z') b = (char)(b - 'A' + 'a');
        if (a != b) return false; /* also stops at the end of a shorter candidate */
    }
    capsule_suggest(out, candidate);
    return true;
}

bool exports_capsule_plugin_completions_complete(exports_capsule_plugin_completions_completion_reference_t *reference,
                                                 wstring *argument_in, wstring *value_in, W(list_tuple2_string_string_t) *context_in,
                                                 exports_capsule_plugin_completions_completion_t *ret,
                                                 exports_capsule_plugin_completions_error_t *err) {
    const capsule_plugin *p = &capsule_definition;
    bool is_prompt = reference->tag == EXPORTS_CAPSULE_PLUGIN_COMPLETIONS_COMPLETION_REFERENCE_PROMPT;
    char *target = cstring(is_prompt ? &reference->val.prompt : &reference->val.resource_template);
    exports_capsule_plugin_completions_completion_reference_free(reference);
    char *argument = cstring(argument_in);
    W(string_free)(argument_in);
    char *value = cstring(value_in);
    W(string_free)(value_in);
    capsule_prompt_args context = args_from(context_in);

    capsule_complete_fn complete = NULL;
    bool found = false;
#ifdef CAPSULE_PROMPTS
    for (size_t i = 0; is_prompt && i < p->prompt_count && !found; i++) {
        const capsule_prompt *q = &p->prompts[i];
        if (strcmp(q->name, target) != 0) continue;
        found = true;
        for (size_t k = 0; k < q->argument_count; k++) {
            if (strcmp(q->arguments[k].name, argument) == 0) complete = q->arguments[k].complete;
        }
    }
#endif
#ifdef CAPSULE_RESOURCES
    for (size_t i = 0; !is_prompt && i < p->template_count && !found; i++) {
        if (strcmp(p->templates[i].uri_template, target) != 0) continue;
        found = true;
        complete = p->templates[i].complete;
    }
#endif
    (void)p;
    capsule_completion out = {0};
    capsule_status status = CAPSULE_OK;
    if (!found) {
        status = capsule_fail(CAPSULE_NOT_FOUND, is_prompt ? "unknown prompt `%s`" : "unknown resource template `%s`", target);
    } else if (complete) {
        status = complete(argument, value, &context, &out);
    }
    free(target);
    free(argument);
    free(value);
    args_free(&context);
    if (status != CAPSULE_OK) {
        set_error(err, status, "completing the argument failed");
        for (size_t i = 0; i < out.count; i++) W(string_free)(&out.values[i]);
        free(out.values);
        return false;
    }
    memset(ret, 0, sizeof *ret);
    ret->values.ptr = out.values;
    ret->values.len = out.count;
    ret->total.is_some = complete != NULL;
    ret->total.val = (uint32_t)(out.total > UINT32_MAX ? UINT32_MAX : out.total);
    ret->has_more = out.total > out.count;
    return true;
}
#endif
