/* capsule.h — write Capsule plugins in C.
 *
 * A plugin defines one `capsule_plugin` named `capsule_definition`: its metadata and tables of
 * tools, resources, resource templates and prompts, each entry a plain function. The SDK
 * (capsule.c, compiled with the plugin) implements the WIT exports of capsule:plugin@0.2.0 on
 * top of the wit-bindgen C bindings, parses tool arguments into capsule_json values and turns
 * what handlers build into WIT records. A whole plugin:
 *
 *     #include "capsule.h"
 *
 *     static capsule_status greet(const capsule_json *args, capsule_result *out) {
 *         const char *name = capsule_arg_string(args, "name", NULL);
 *         if (!name || !*name) return capsule_fail(CAPSULE_INVALID_ARGUMENTS, "`name` must not be empty");
 *         return capsule_text(out, "Hello, %s!", name);
 *     }
 *
 *     static const capsule_tool tools[] = {
 *         {.name = "greet", .description = "Greet someone by name", .call = greet,
 *          .input_schema = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},"
 *                          "\"required\":[\"name\"]}"},
 *     };
 *
 *     const capsule_plugin capsule_definition = {
 *         .name = "hello", .version = "0.1.0", .tools = tools, .tool_count = CAPSULE_LEN(tools),
 *     };
 *
 * Build it with `sdk-guest/c/capsule-cc --world tools-plugin hello.c -o hello.wasm`.
 *
 * Errors: handlers return CAPSULE_OK, or `capsule_fail(status, fmt, ...)` for a typed error
 * (the host maps it: for tools/call every case is a result with isError: true). Each request
 * runs in a fresh instance, so memory the handler does not free is reclaimed anyway.
 *
 * A tool or prompt that needs the client's input (elicitation, sampling, roots) asks with
 * capsule_elicit / capsule_sample / capsule_list_roots and returns capsule_input_required(state);
 * the host asks the client and runs the handler again with the same arguments, where
 * capsule_resuming() is true and capsule_response(key) / capsule_state() hold the answers.
 */
#ifndef CAPSULE_H
#define CAPSULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capsule_json.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CAPSULE_LEN(array) (sizeof(array) / sizeof((array)[0]))

/* How a handler ended: the WIT `error` cases, plus OK. */
typedef enum {
    CAPSULE_OK = 0,
    CAPSULE_INVALID_ARGUMENTS, /* the arguments do not fit; say how to fix them */
    CAPSULE_NOT_FOUND,         /* the named thing does not exist */
    CAPSULE_DENIED,            /* the sandbox refused a capability; name it */
    CAPSULE_INTERNAL,          /* anything else */
    CAPSULE_INPUT_REQUIRED,    /* from capsule_input_required(): ask the client, then run again (tools, prompts) */
} capsule_status;

/* Set the message of the current request's error and return `status`:
 * `return capsule_fail(CAPSULE_NOT_FOUND, "no such file: %s", path);` */
capsule_status capsule_fail(capsule_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An error from an errno value: ENOENT → NOT_FOUND; EACCES, EPERM, ENOTCAPABLE, EROFS →
 * DENIED; EISDIR, ENOTDIR, ENAMETOOLONG → INVALID_ARGUMENTS; anything else → INTERNAL. The
 * message is "<what>: <strerror>". */
capsule_status capsule_fail_errno(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------------------ metadata */

typedef enum { CAPSULE_READ_ONLY = 0, CAPSULE_READ_WRITE = 1 } capsule_access;

typedef struct {
    const char *path; /* absolute guest path, e.g. "/data" */
    capsule_access access;
    const char *reason; /* shown to the operator; may be NULL */
} capsule_fs_request;

/* Tri-state tool hints: unset (0) is omitted from the tool's annotations. */
typedef enum { CAPSULE_UNSET = 0, CAPSULE_YES, CAPSULE_NO } capsule_hint;

/* ------------------------------------------------------------------------------ tools */

/* What a tool call returns: content blocks, optional structured content, isError. */
typedef struct capsule_result capsule_result;

typedef capsule_status (*capsule_tool_fn)(const capsule_json *args, capsule_result *out);

/* The input schema of a tool without arguments (what a NULL input_schema publishes): a closed,
 * empty object, portable as it is. */
#define CAPSULE_NO_ARGUMENTS "{\"type\":\"object\",\"properties\":{},\"required\":[],\"additionalProperties\":false}"

/* Whether a tool may run as an MCP task (README "Long-running tools (tasks)"). Unset (0) declares
 * nothing: the host's default, forbidden. A declared value goes into the tool's _meta under
 * CAPSULE_TASK_SUPPORT_KEY, merged with `meta`; it wins over that key written into `meta` by hand. */
typedef enum {
    CAPSULE_TASK_UNSET = 0,
    CAPSULE_TASK_FORBIDDEN, /* never a task: the call answers within its request ([limits] timeout) */
    CAPSULE_TASK_OPTIONAL,  /* a task for clients that declared the tasks extension, else a plain call */
    CAPSULE_TASK_REQUIRED,  /* only as a task: other clients get -32021 */
} capsule_task_support;

/* The _meta key that carries a tool's task support to the host (which leaves it out of what it publishes). */
#define CAPSULE_TASK_SUPPORT_KEY "capsule/taskSupport"

typedef struct {
    const char *name;          /* published as <file stem>_<name>: [A-Za-z0-9_-], no "__" */
    const char *title;         /* may be NULL */
    const char *description;
    const char *input_schema;  /* JSON Schema text of the arguments (an object schema; write it portable:
                                * README "Portable schemas"); NULL = no arguments */
    const char *output_schema; /* JSON Schema text of the structured content, or NULL */
    capsule_tool_fn call;
    capsule_hint read_only, destructive, idempotent, open_world;
    const char *meta;          /* JSON object text of the tool's _meta, or NULL */
    capsule_task_support task_support; /* CAPSULE_TASK_OPTIONAL, ...; unset: nothing declared */
} capsule_tool;

/* Append a text block (printf-style). Returns CAPSULE_OK, so `return capsule_text(out, ...)` works. */
capsule_status capsule_text(capsule_result *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append a text block of `len` bytes of UTF-8. */
capsule_status capsule_text_n(capsule_result *out, const char *text, size_t len);
/* Append an image (raw bytes of an image file; the host base64-encodes them). */
capsule_status capsule_image(capsule_result *out, const void *data, size_t len, const char *mime_type);
/* Append a link to a resource. `mime_type` may be NULL. */
capsule_status capsule_link(capsule_result *out, const char *uri, const char *name, const char *mime_type);
/* The structured content, as a JSON writer to fill with one object. When the handler returns,
 * the SDK also puts the same JSON in a text block before the others (as MCP recommends). */
capsule_jw *capsule_structured(capsule_result *out);
/* Mark the result isError: true — the tool ran but failed in a way the model should read —
 * with a text block. Returns CAPSULE_OK (the call itself succeeded). */
capsule_status capsule_tool_error(capsule_result *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Argument accessors: NULL / false when the argument is absent, null or of another type (the host
 * has validated the arguments against input_schema already). A null reads as "not given": in a
 * portable input schema every property is required and the optional ones are nullable, so a model
 * sends null for what it leaves out (see "Portable schemas" in the README).
 * capsule_arg() is the argument's JSON value, or NULL when it is absent or null: test whether an
 * argument was given with it, not with capsule_json_get() (which returns null members too). */
const capsule_json *capsule_arg(const capsule_json *args, const char *name);
const char *capsule_arg_string(const capsule_json *args, const char *name, size_t *len);
bool capsule_arg_number(const capsule_json *args, const char *name, double *out);
bool capsule_arg_int(const capsule_json *args, const char *name, long long *out);
bool capsule_arg_bool(const capsule_json *args, const char *name, bool *out);

/* ------------------------------------------------------------------------------ resources */

/* What a resource read returns: one or more contents. */
typedef struct capsule_contents capsule_contents;
/* The variables of a matched URI template (percent-decoded; may contain "/" and ".."). */
typedef struct capsule_vars capsule_vars;
/* Resources listed at load time by a `list_resources` function. */
typedef struct capsule_resource_list capsule_resource_list;

typedef capsule_status (*capsule_read_fn)(const char *uri, capsule_contents *out);
typedef capsule_status (*capsule_template_fn)(const capsule_vars *vars, const char *uri, capsule_contents *out);

typedef struct {
    const char *uri;
    const char *name;
    const char *title, *description, *mime_type; /* may be NULL */
    capsule_read_fn read;
} capsule_resource;

/* Suggestions for a prompt argument or template variable (completion/complete), and the arguments
 * already filled in (read them with capsule_prompt_arg). */
typedef struct capsule_completion capsule_completion;
typedef struct capsule_prompt_args capsule_prompt_args;
/* Suggest values for `argument` whose partial value is `value`: call capsule_suggest() for each,
 * best first. */
typedef capsule_status (*capsule_complete_fn)(const char *argument, const char *value, const capsule_prompt_args *context,
                                              capsule_completion *out);

typedef struct {
    const char *uri_template; /* RFC 6570, e.g. "checksum://{name}" ({+name} takes '/' too) */
    const char *name;
    const char *title, *description, *mime_type; /* may be NULL */
    capsule_template_fn read;
    capsule_complete_fn complete; /* suggestions for the template's variables; NULL = none */
} capsule_template;

/* Text contents of `uri` (`len` bytes of UTF-8; `mime_type` NULL = the resource's). */
capsule_status capsule_contents_text(capsule_contents *out, const char *uri, const char *text, size_t len, const char *mime_type);
/* Binary contents of `uri`. */
capsule_status capsule_contents_blob(capsule_contents *out, const char *uri, const void *data, size_t len, const char *mime_type);
/* The value of template variable `name`, or NULL. */
const char *capsule_var(const capsule_vars *vars, const char *name);
/* Add a resource to the list (`size` < 0: unknown; other strings may be NULL). */
void capsule_list_add(capsule_resource_list *list, const char *uri, const char *name, const char *mime_type,
                      const char *description, long long size);

/* ------------------------------------------------------------------------------ prompts */

typedef enum { CAPSULE_USER = 0, CAPSULE_ASSISTANT = 1 } capsule_role;

typedef struct capsule_messages capsule_messages;

typedef capsule_status (*capsule_prompt_fn)(const capsule_prompt_args *args, capsule_messages *out);

typedef struct {
    const char *name;
    const char *description;      /* may be NULL */
    bool required;                /* the host refuses a get without it */
    capsule_complete_fn complete; /* suggestions for its value; NULL = none */
} capsule_prompt_argument;

typedef struct {
    const char *name;
    const char *title, *description; /* may be NULL */
    const capsule_prompt_argument *arguments;
    size_t argument_count;
    capsule_prompt_fn render;
} capsule_prompt;

/* The value of prompt argument `name`, or NULL. */
const char *capsule_prompt_arg(const capsule_prompt_args *args, const char *name);
/* Append a text message (printf-style). */
capsule_status capsule_message(capsule_messages *out, capsule_role role, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Append a message embedding a text resource. */
capsule_status capsule_message_resource(capsule_messages *out, capsule_role role, const char *uri, const char *text,
                                        size_t len, const char *mime_type);

/* ------------------------------------------------------------------------------ completions */

/* Add a suggestion. The first 100 are sent; more only count (`total`, `hasMore`). */
void capsule_suggest(capsule_completion *out, const char *candidate);
/* Add `candidate` if it starts with `value` (ASCII case-insensitively); returns whether it did. */
bool capsule_suggest_matching(capsule_completion *out, const char *candidate, const char *value);

/* ------------------------------------------------------------------------------ asking the client
 *
 * In a tool or prompt handler: ask one or more questions, each under a key of your choosing, then
 * `return capsule_input_required(state, len);`. The host asks the client and runs the handler again
 * (same arguments) with the answers. Ask only for what the client declared
 * (capsule_client_supports): asking for more fails the request (MCP error -32021). */

/* Ask the user (elicitation/create, form mode): `requested_schema` is the JSON text of an object
 * schema with flat primitive properties, or NULL for a plain accept/decline. */
void capsule_elicit(const char *key, const char *message, const char *requested_schema);
/* Send the user to `url` (elicitation/create, URL mode). */
void capsule_elicit_url(const char *key, const char *message, const char *url, const char *elicitation_id);
/* Ask the client's model (sampling/createMessage) with `params`, the JSON text of MCP
 * CreateMessageRequestParams ({"messages": [...], "maxTokens": N, ...}). */
void capsule_sample(const char *key, const char *params);
/* Ask the client's model one user text message; `system_prompt` may be NULL. */
void capsule_sample_text(const char *key, const char *prompt, long max_tokens, const char *system_prompt);
/* Ask for the client's roots (roots/list). */
void capsule_list_roots(const char *key);
/* End the handler with the questions asked so far and `len` bytes of `state` for the next round
 * (NULL, 0 for none; at most 16 KiB, readable by the client: keep secrets out). Returns
 * CAPSULE_INPUT_REQUIRED, or an error if nothing was asked, a key was empty or used twice, or the
 * state is too large. */
capsule_status capsule_input_required(const void *state, size_t len);

/* Whether this run carries answers (a later round of a request that returned input required). */
bool capsule_resuming(void);
/* The answer under `key` as parsed JSON (ElicitResult, CreateMessageResult, ListRootsResult), or
 * NULL when the client gave none. Valid until the handler returns. */
const capsule_json *capsule_response(const char *key);
/* The state of the previous round (and its length), or NULL. */
const void *capsule_state(size_t *len);
/* An elicitation's outcome: "accept", "decline", "cancel", or NULL without an answer. */
const char *capsule_elicit_action(const char *key);
/* What the user entered (the `content` object) when they accepted, else NULL. */
const capsule_json *capsule_elicited(const char *key);
/* The text the client's model answered (its first text block), else NULL. */
const char *capsule_sampled_text(const char *key, size_t *len);
/* The client's roots (a JSON array of {"uri", "name"?} objects), else NULL. */
const capsule_json *capsule_roots(const char *key);

/* ------------------------------------------------------------------------------ the plugin */

typedef struct {
    const char *name;        /* display name; NULL = "plugin" (the host names plugins by file stem) */
    const char *version;     /* NULL = "0.1.0" */
    const char *description; /* may be NULL */
    const capsule_fs_request *filesystem;
    size_t filesystem_count;
    const char *const *network; /* origins, e.g. "https://api.example.com" */
    size_t network_count;
    const char *const *env; /* environment variables read */
    size_t env_count;

    const capsule_tool *tools;
    size_t tool_count;
    const capsule_resource *resources;
    size_t resource_count;
    const capsule_template *templates;
    size_t template_count;
    void (*list_resources)(capsule_resource_list *list); /* called once at load time; may be NULL */
    const capsule_prompt *prompts;
    size_t prompt_count;
} capsule_plugin;

/* Defined by the plugin. */
extern const capsule_plugin capsule_definition;

/* ------------------------------------------------------------------------------ host */

typedef enum {
    CAPSULE_LOG_DEBUG,
    CAPSULE_LOG_INFO,
    CAPSULE_LOG_NOTICE,
    CAPSULE_LOG_WARNING,
    CAPSULE_LOG_ERROR,
    CAPSULE_LOG_CRITICAL,
    CAPSULE_LOG_ALERT,
    CAPSULE_LOG_EMERGENCY,
} capsule_log_level;

/* Log to the host log (forwarded to the client when it asked for that level). */
void capsule_log(capsule_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report progress on the current request; `total` < 0 = unknown, `message` may be NULL. */
void capsule_progress(double progress, double total, const char *message);
/* Whether the client cancelled the current request. */
bool capsule_cancelled(void);

typedef enum {
    CAPSULE_CAP_ELICITATION,     /* form mode: capsule_elicit */
    CAPSULE_CAP_ELICITATION_URL, /* URL mode: capsule_elicit_url */
    CAPSULE_CAP_SAMPLING,        /* capsule_sample */
    CAPSULE_CAP_ROOTS,           /* capsule_list_roots */
} capsule_capability;

/* The capabilities the client declared (MCP ClientCapabilities, a JSON object; empty outside a
 * request). Valid until the next call. */
const capsule_json *capsule_client_capabilities(void);
/* Whether the client declared `capability`. */
bool capsule_client_supports(capsule_capability capability);
/* Tell clients subscribed to `uri` (a resource this plugin serves) that it changed. */
void capsule_resource_updated(const char *uri);

#ifdef __cplusplus
}
#endif

#endif /* CAPSULE_H */
