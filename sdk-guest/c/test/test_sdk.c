/* Native unit tests of the C SDK (JSON helper, dispatch, error mapping, task support, URI templates,
 * prompts, input required and resumptions, completions, client capabilities, resource updates).
 * `make guest-test-c` builds them with `zig cc` for the build machine and runs them. */
#include "capsule.h"

#include <errno.h>
#include <math.h>

#include "testing.h"

/* ------------------------------------------------------------------------------ a test plugin */

static capsule_status add(const capsule_json *args, capsule_result *out) {
    double a = 0, b = 0;
    capsule_arg_number(args, "a", &a);
    capsule_arg_number(args, "b", &b);
    capsule_jw *w = capsule_structured(out);
    capsule_jw_object(w);
    capsule_jw_key(w, "sum");
    capsule_jw_number(w, a + b);
    capsule_jw_end(w);
    return CAPSULE_OK;
}

static capsule_status fail(const capsule_json *args, capsule_result *out) {
    (void)out;
    const char *kind = capsule_arg_string(args, "kind", NULL);
    if (strcmp(kind, "invalid") == 0) return capsule_fail(CAPSULE_INVALID_ARGUMENTS, "bad %s", "kind");
    if (strcmp(kind, "errno") == 0) return capsule_fail_errno(ENOENT, "cannot open %s", "/data/x");
    if (strcmp(kind, "soft") == 0) return capsule_tool_error(out, "the model should read this");
    if (strcmp(kind, "unfinished") == 0) {
        capsule_jw_object(capsule_structured(out));
        return CAPSULE_OK;
    }
    return CAPSULE_INTERNAL; /* no message: the SDK supplies one */
}

static capsule_status echo(const capsule_json *args, capsule_result *out) {
    size_t len;
    const char *text = capsule_arg_string(args, "text", &len);
    capsule_text_n(out, text, len);
    return capsule_link(out, "test://x", "x", NULL);
}

#define WHO_SCHEMA "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},\"required\":[\"name\"]}"

/* Asks who the seats are for, carrying the seat count in the state. */
static capsule_status book(const capsule_json *args, capsule_result *out) {
    if (!capsule_resuming()) {
        long long seats = 0;
        capsule_arg_int(args, "seats", &seats);
        capsule_text(out, "dropped: a round that asks has no result");
        capsule_elicit("who", "Who are the seats for?", WHO_SCHEMA);
        unsigned char state = (unsigned char)seats;
        return capsule_input_required(&state, 1);
    }
    const capsule_json *who = capsule_elicited("who");
    if (!who) {
        const char *action = capsule_elicit_action("who");
        return capsule_tool_error(out, "not booked: %s", action ? action : "no answer");
    }
    size_t len = 0;
    const unsigned char *state = capsule_state(&len);
    return capsule_text(out, "%s: %d seats", capsule_json_string(capsule_json_get(who, "name"), NULL), len == 1 ? state[0] : -1);
}

static capsule_status survey(const capsule_json *args, capsule_result *out) {
    (void)args;
    if (!capsule_roots("roots")) {
        capsule_list_roots("roots");
        capsule_sample_text("title", "Name this \"project\"", 20, NULL);
        capsule_sample("raw", "{\"messages\":[],\"maxTokens\":1}");
        capsule_elicit_url("login", "Sign in", "https://example.com/a", "e-1");
        return capsule_input_required(NULL, 0);
    }
    const capsule_json *roots = capsule_roots("roots");
    size_t len = 0;
    const char *title = capsule_sampled_text("title", &len);
    return capsule_text(out, "%.*s: %zu roots, first %s", (int)len, title ? title : "?", roots->length,
                        capsule_json_string(capsule_json_get(capsule_json_at(roots, 0), "uri"), NULL));
}

static capsule_status bad_ask(const capsule_json *args, capsule_result *out) {
    (void)out;
    const char *kind = capsule_arg_string(args, "kind", NULL);
    if (strcmp(kind, "none") == 0) return capsule_input_required(NULL, 0);
    if (strcmp(kind, "twice") == 0) {
        capsule_list_roots("a");
        capsule_list_roots("a");
        return capsule_input_required(NULL, 0);
    }
    if (strcmp(kind, "big") == 0) {
        static char big[16 * 1024 + 1];
        capsule_list_roots("a");
        return capsule_input_required(big, sizeof big);
    }
    if (strcmp(kind, "bare") == 0) return CAPSULE_INPUT_REQUIRED;
    capsule_list_roots("a");
    return CAPSULE_OK; /* asked, but finished: the questions are dropped */
}

static capsule_status host_calls(const capsule_json *args, capsule_result *out) {
    (void)args;
    capsule_resource_updated("test://about");
    return capsule_text(out, "elicitation=%d url=%d sampling=%d roots=%d", capsule_client_supports(CAPSULE_CAP_ELICITATION),
                        capsule_client_supports(CAPSULE_CAP_ELICITATION_URL), capsule_client_supports(CAPSULE_CAP_SAMPLING),
                        capsule_client_supports(CAPSULE_CAP_ROOTS));
}

static const capsule_tool tools[] = {
    {.name = "add", .description = "Add", .call = add, .read_only = CAPSULE_YES,
     .input_schema = "{\"type\":\"object\"}", .output_schema = "{\"type\":\"object\"}"},
    {.name = "fail", .description = "Fail", .call = fail},
    {.name = "echo", .description = "Echo", .call = echo},
    {.name = "book", .description = "Book seats", .call = book},
    {.name = "survey", .description = "Roots and sampling", .call = survey},
    {.name = "bad_ask", .description = "Mistakes", .call = bad_ask},
    {.name = "host_calls", .description = "Host functions", .call = host_calls},
    /* Task support (test_task_support): declared alone, merged with the author's meta, ... */
    {.name = "crawl", .description = "Long", .call = echo, .task_support = CAPSULE_TASK_OPTIONAL},
    {.name = "index", .description = "Long", .call = echo, .task_support = CAPSULE_TASK_REQUIRED,
     .meta = " { \"ui\" : {\"x\": [1, \"}\\\"]\"]}, \"capsule\\/taskSupport\": \"optional\", \"n\": 0.1 } "},
    {.name = "quick", .description = "Short", .call = echo, .task_support = CAPSULE_TASK_FORBIDDEN,
     .meta = "{\"capsule/taskSupport\":\"required\"}"},
    {.name = "mine", .description = "Meta only", .call = echo, .meta = "{\"a\": 1}"},
    {.name = "odd", .description = "Not a task support", .call = echo, .task_support = (capsule_task_support)42},
    {.name = "broken", .description = "Meta not an object", .call = echo, .task_support = CAPSULE_TASK_OPTIONAL,
     .meta = "[1]"},
};

static capsule_status read_about(const char *uri, capsule_contents *out) { return capsule_contents_text(out, uri, "about", 5, NULL); }

static capsule_status read_item(const capsule_vars *vars, const char *uri, capsule_contents *out) {
    char text[256];
    snprintf(text, sizeof text, "%s|%s", capsule_var(vars, "a"), capsule_var(vars, "b") ? capsule_var(vars, "b") : "-");
    return capsule_contents_text(out, uri, text, strlen(text), NULL);
}

static const capsule_resource resources[] = {
    {.uri = "test://about", .name = "about", .mime_type = "text/plain", .read = read_about},
};

static capsule_status complete_pair(const char *argument, const char *value, const capsule_prompt_args *context,
                                    capsule_completion *out) {
    (void)context;
    if (strcmp(argument, "a") != 0) return CAPSULE_OK; /* nothing to suggest for b */
    char candidate[32];
    for (int i = 0; i < 150; i++) {
        snprintf(candidate, sizeof candidate, "%s%d", value, i);
        capsule_suggest(out, candidate);
    }
    return CAPSULE_OK;
}

static const capsule_template templates[] = {
    {.uri_template = "x://{a}-{b}", .name = "pair", .read = read_item, .complete = complete_pair},
    {.uri_template = "n://{a}", .name = "one", .mime_type = "text/plain", .read = read_item},
    {.uri_template = "op://{+a}", .name = "reserved", .read = read_item},
    {.uri_template = "q://{?a}", .name = "operator", .read = read_item},
};

static void lister(capsule_resource_list *list) { capsule_list_add(list, "test://listed", "listed", NULL, NULL, 42); }

static capsule_status brainstorm(const capsule_prompt_args *args, capsule_messages *out) {
    const char *count = capsule_prompt_arg(args, "count");
    capsule_message(out, CAPSULE_USER, "Give me %s ideas about %s.", count ? count : "5", capsule_prompt_arg(args, "topic"));
    return capsule_message_resource(out, CAPSULE_ASSISTANT, "test://about", "about", 5, "text/plain");
}

static capsule_status complete_topic(const char *argument, const char *value, const capsule_prompt_args *context,
                                     capsule_completion *out) {
    (void)argument;
    const char *topics[] = {"Python", "pytest", "rust"};
    for (size_t i = 0; i < CAPSULE_LEN(topics); i++) capsule_suggest_matching(out, topics[i], value);
    const char *count = capsule_prompt_arg(context, "count");
    if (count) capsule_suggest(out, count);
    if (strcmp(value, "fail") == 0) return capsule_fail(CAPSULE_DENIED, "no suggestions for you");
    return CAPSULE_OK;
}

static capsule_status review(const capsule_prompt_args *args, capsule_messages *out) {
    if (!capsule_resuming()) {
        capsule_elicit("focus", "Focus of the review?", NULL);
        return capsule_input_required("\x00\xff", 2);
    }
    const capsule_json *focus = capsule_elicited("focus");
    size_t len = 0;
    const unsigned char *state = capsule_state(&len);
    const char *f = capsule_json_string(capsule_json_get(focus, "focus"), NULL);
    return capsule_message(out, CAPSULE_USER, "Review %s, focusing on %s (state %zu: %d,%d).", capsule_prompt_arg(args, "topic"),
                           f ? f : "anything", len, state[0], state[1]);
}

static const capsule_prompt_argument brainstorm_args[] = {{"topic", "What about", true, complete_topic}, {"count", NULL, false}};
static const capsule_prompt_argument review_args[] = {{"topic", NULL, true}};
static const capsule_prompt prompts[] = {
    {.name = "brainstorm", .description = "Ideas", .arguments = brainstorm_args, .argument_count = 2, .render = brainstorm},
    {.name = "review", .description = "Review", .arguments = review_args, .argument_count = 1, .render = review},
};

static const capsule_fs_request fs[] = {{"/data", CAPSULE_READ_ONLY, "tests"}};

const capsule_plugin capsule_definition = {
    .name = "test", .version = "1.2.3", .filesystem = fs, .filesystem_count = 1,
    .tools = tools, .tool_count = CAPSULE_LEN(tools),
    .resources = resources, .resource_count = CAPSULE_LEN(resources),
    .templates = templates, .template_count = CAPSULE_LEN(templates),
    .list_resources = lister,
    .prompts = prompts, .prompt_count = CAPSULE_LEN(prompts),
};

/* ------------------------------------------------------------------------------ tests */

static void test_json(void) {
    char err[128];
    const char *text = "{\"a\": [1, 2.5e1, -3], \"s\": \"h\\u00e9\\n\\ud83d\\ude00\", \"t\": true, \"n\": null, \"a\": 7}";
    capsule_json *v = capsule_json_parse(text, strlen(text), err, sizeof err);
    CHECK(v && v->type == CAPSULE_JSON_OBJECT && v->length == 5);
    double x = 0;
    CHECK(capsule_json_number(capsule_json_get(v, "a"), &x) && x == 7); /* the last duplicate wins */
    size_t len = 0;
    const char *s = capsule_json_string(capsule_json_get(v, "s"), &len);
    CHECK(s && len == 8 && memcmp(s, "h\xc3\xa9\n\xf0\x9f\x98\x80", 8) == 0);
    bool b = false;
    CHECK(capsule_json_bool(capsule_json_get(v, "t"), &b) && b);
    CHECK(capsule_json_get(v, "n")->type == CAPSULE_JSON_NULL);
    CHECK(capsule_json_get(v, "missing") == NULL);
    /* Tool arguments: a null reads as "not given" (portable schemas make optional ones nullable). */
    CHECK(capsule_arg(v, "n") == NULL && capsule_arg(v, "missing") == NULL && capsule_arg(v, "t") != NULL);
    CHECK(capsule_arg_string(v, "n", &len) == NULL);
    CHECK(!capsule_arg_number(v, "n", &x) && !capsule_arg_bool(v, "n", &b));
    long long n = 0;
    CHECK(!capsule_arg_int(v, "n", &n) && capsule_arg_int(v, "a", &n) && n == 7);
    capsule_json_free(v);
    free(v);

    const char *bad[] = {"{\"a\" 1}", "[1,]", "\"\\ud800\"", "01", "{\"a\":1} x", "\"tab\there\"", "[", ""};
    for (size_t i = 0; i < CAPSULE_LEN(bad); i++) {
        capsule_json *p = capsule_json_parse(bad[i], strlen(bad[i]), err, sizeof err);
        CHECK(p == NULL && strstr(err, "offset") != NULL);
    }

    capsule_jw w = {0};
    capsule_jw_object(&w);
    capsule_jw_key(&w, "s");
    capsule_jw_string(&w, "q\"\\\n\x01");
    capsule_jw_key(&w, "list");
    capsule_jw_array(&w);
    capsule_jw_int(&w, -1);
    capsule_jw_uint(&w, 4294967295u);
    capsule_jw_number(&w, 0.5);
    capsule_jw_number(&w, NAN);
    capsule_jw_bool(&w, false);
    capsule_jw_object(&w);
    capsule_jw_end(&w);
    capsule_jw_end(&w);
    capsule_jw_end(&w);
    CHECK(!w.failed && w.depth == 0);
    CHECK(strcmp(w.buf, "{\"s\":\"q\\\"\\\\\\n\\u0001\",\"list\":[-1,4294967295,0.5,null,false,{}]}") == 0);
    capsule_jw_free(&w);
}

static void test_describe(void) {
    exports_capsule_plugin_plugin_metadata_t m;
    exports_capsule_plugin_plugin_describe(&m);
    CHECK(str_eq(&m.name, "test") && str_eq(&m.version, "1.2.3") && !m.description.is_some);
    CHECK(m.requests.filesystem.len == 1 && str_eq(&m.requests.filesystem.ptr[0].path, "/data"));
    CHECK(m.requests.filesystem.ptr[0].access == EXPORTS_CAPSULE_PLUGIN_PLUGIN_ACCESS_READ_ONLY);
    exports_capsule_plugin_plugin_metadata_free(&m);
}

static void test_tools(void) {
    exports_capsule_plugin_tools_list_tool_t list;
    exports_capsule_plugin_tools_list_tools(&list);
    CHECK(list.len == 13 && str_eq(&list.ptr[0].name, "add"));
    CHECK(list.ptr[0].annotations.is_some && list.ptr[0].annotations.val.read_only_hint.is_some);
    CHECK(!list.ptr[0].annotations.val.destructive_hint.is_some);
    CHECK(str_eq(&list.ptr[1].input_schema, "{\"type\":\"object\",\"properties\":{},\"required\":[],\"additionalProperties\":false}"));
    exports_capsule_plugin_tools_list_tool_free(&list);

    exports_capsule_plugin_tools_call_tool_result_t ok;
    capsule_plugin_types_error_t err;
    CHECK(call("add", "{\"a\": 2, \"b\": 0.5}", &ok, &err));
    CHECK(ok.structured_content.is_some && str_eq(&ok.structured_content.val, "{\"sum\":2.5}"));
    CHECK(ok.content.len == 1 && ok.content.ptr[0].tag == CAPSULE_PLUGIN_TYPES_CONTENT_BLOCK_TEXT);
    CHECK(str_eq(&ok.content.ptr[0].val.text.text, "{\"sum\":2.5}") && !ok.is_error);
    CHECK(call("add", "", &ok, &err)); /* empty arguments are {} */
    CHECK(call("add", "{\"a\": 2, \"b\": null}", &ok, &err)); /* null: not given */
    CHECK(ok.structured_content.is_some && str_eq(&ok.structured_content.val, "{\"sum\":2}"));
    CHECK(call("echo", "{\"text\":\"hi\"}", &ok, &err) && ok.content.len == 2);
    CHECK(ok.content.ptr[1].tag == CAPSULE_PLUGIN_TYPES_CONTENT_BLOCK_RESOURCE_LINK);
    CHECK(call("fail", "{\"kind\":\"soft\"}", &ok, &err) && ok.is_error);

    CHECK(!call("fail", "{\"kind\":\"invalid\"}", &ok, &err));
    CHECK(err.tag == CAPSULE_PLUGIN_TYPES_ERROR_INVALID_ARGUMENTS && str_eq(&err.val.invalid_arguments, "bad kind"));
    CHECK(!call("fail", "{\"kind\":\"errno\"}", &ok, &err));
    CHECK(err.tag == CAPSULE_PLUGIN_TYPES_ERROR_NOT_FOUND && str_has(&err.val.not_found, "cannot open /data/x: "));
    CHECK(!call("fail", "{\"kind\":\"other\"}", &ok, &err));
    CHECK(err.tag == CAPSULE_PLUGIN_TYPES_ERROR_INTERNAL && str_eq(&err.val.internal, "the tool failed"));
    CHECK(!call("fail", "{\"kind\":\"unfinished\"}", &ok, &err));
    CHECK(err.tag == CAPSULE_PLUGIN_TYPES_ERROR_INTERNAL && str_has(&err.val.internal, "incomplete structured content"));
    CHECK(!call("nope", "{}", &ok, &err));
    CHECK(err.tag == CAPSULE_PLUGIN_TYPES_ERROR_NOT_FOUND && str_eq(&err.val.not_found, "unknown tool `nope`"));
    CHECK(!call("add", "{nope", &ok, &err));
    CHECK(err.tag == CAPSULE_PLUGIN_TYPES_ERROR_INVALID_ARGUMENTS && str_has(&err.val.invalid_arguments, "invalid arguments: "));
    CHECK(!call("add", "[1]", &ok, &err) && err.tag == CAPSULE_PLUGIN_TYPES_ERROR_INVALID_ARGUMENTS);
}

extern char capsule_test_last_log[512];
extern int capsule_test_log_count;

static const exports_capsule_plugin_tools_tool_t *listed(const exports_capsule_plugin_tools_list_tool_t *list, const char *name) {
    for (size_t i = 0; i < list->len; i++) {
        if (str_eq(&list->ptr[i].name, name)) return &list->ptr[i];
    }
    return NULL;
}

static int meta_is(const exports_capsule_plugin_tools_list_tool_t *list, const char *name, const char *want) {
    const exports_capsule_plugin_tools_tool_t *t = listed(list, name);
    if (!t) return 0;
    if (!want) return !t->meta.is_some;
    return t->meta.is_some && str_eq(&t->meta.val, want);
}

static void test_task_support(void) {
    int logs = capsule_test_log_count;
    exports_capsule_plugin_tools_list_tool_t list;
    exports_capsule_plugin_tools_list_tools(&list);
    CHECK(strcmp(CAPSULE_TASK_SUPPORT_KEY, "capsule/taskSupport") == 0);
    /* Nothing declared: no key; the author's meta goes out as written. */
    CHECK(meta_is(&list, "add", NULL));
    CHECK(meta_is(&list, "mine", "{\"a\": 1}"));
    /* Declared alone. */
    CHECK(meta_is(&list, "crawl", "{\"capsule/taskSupport\":\"optional\"}"));
    /* Merged: the author's members as written (strings with braces and escapes, nesting, numbers),
     * the hand-written key (however escaped) replaced by the declared value. */
    CHECK(meta_is(&list, "index", "{\"ui\":{\"x\": [1, \"}\\\"]\"]},\"n\":0.1,\"capsule/taskSupport\":\"required\"}"));
    /* An explicit "forbidden" is sent, and wins over the key written by hand. */
    CHECK(meta_is(&list, "quick", "{\"capsule/taskSupport\":\"forbidden\"}"));
    /* A value that is none of the constants declares nothing, and says so in the log. */
    CHECK(meta_is(&list, "odd", NULL));
    /* A meta that is not an object goes out as written (the host refuses it), also logged. */
    CHECK(meta_is(&list, "broken", "[1]"));
    CHECK(capsule_test_log_count == logs + 2);
    CHECK(strstr(capsule_test_last_log, "tool `broken`: meta is not a JSON object") != NULL);
    exports_capsule_plugin_tools_list_tool_free(&list);
    /* Every merged _meta is a JSON object. */
    exports_capsule_plugin_tools_list_tools(&list);
    for (size_t i = 0; i < list.len; i++) {
        if (!list.ptr[i].meta.is_some || str_eq(&list.ptr[i].name, "broken")) continue;
        capsule_json *meta = capsule_json_parse((const char *)list.ptr[i].meta.val.ptr, list.ptr[i].meta.val.len, NULL, 0);
        CHECK(meta && meta->type == CAPSULE_JSON_OBJECT);
        capsule_json_free(meta);
    }
    exports_capsule_plugin_tools_list_tool_free(&list);
    /* A tool that may become a task still runs as a plain call. */
    exports_capsule_plugin_tools_call_tool_result_t ok;
    capsule_plugin_types_error_t err;
    CHECK(call("crawl", "{\"text\":\"hi\"}", &ok, &err) && ok.content.len == 2);
}

static int read_one(const char *uri, char *text, size_t size, capsule_plugin_types_error_t *err) {
    full_plugin_string_t u = str(uri);
    exports_capsule_plugin_resources_list_resource_contents_t out;
    if (!exports_capsule_plugin_resources_read_resource(&u, &out, err)) return 0;
    snprintf(text, size, "%.*s", (int)out.ptr[0].body.val.text.len, (const char *)out.ptr[0].body.val.text.ptr);
    exports_capsule_plugin_resources_list_resource_contents_free(&out);
    return 1;
}

static void test_resources(void) {
    exports_capsule_plugin_resources_list_resource_t list;
    exports_capsule_plugin_resources_list_resources(&list);
    CHECK(list.len == 2 && str_eq(&list.ptr[1].uri, "test://listed") && list.ptr[1].size.is_some && list.ptr[1].size.val == 42);
    exports_capsule_plugin_resources_list_resource_free(&list);

    char text[256];
    capsule_plugin_types_error_t err;
    CHECK(read_one("test://about", text, sizeof text, &err) && strcmp(text, "about") == 0);
    CHECK(read_one("x://1-2-3", text, sizeof text, &err) && strcmp(text, "1-2|3") == 0); /* earlier takes most */
    CHECK(read_one("n://..%2Fetc", text, sizeof text, &err) && strcmp(text, "../etc|-") == 0);
    CHECK(read_one("n://100%", text, sizeof text, &err) && strcmp(text, "100%|-") == 0);
    CHECK(read_one("n://%C3%A9", text, sizeof text, &err) && strcmp(text, "\xc3\xa9|-") == 0);
    CHECK(!read_one("n://", text, sizeof text, &err) && err.tag == CAPSULE_PLUGIN_TYPES_ERROR_NOT_FOUND); /* one or more */
    CHECK(!read_one("n://a/b", text, sizeof text, &err) && err.tag == CAPSULE_PLUGIN_TYPES_ERROR_NOT_FOUND); /* no '/' */
    CHECK(!read_one("n://%FF", text, sizeof text, &err) && err.tag == CAPSULE_PLUGIN_TYPES_ERROR_NOT_FOUND);
    CHECK(read_one("op://x/y%20z", text, sizeof text, &err) && strcmp(text, "x/y z|-") == 0); /* {+a} takes '/' */
    CHECK(!read_one("q://?a=1", text, sizeof text, &err) && err.tag == CAPSULE_PLUGIN_TYPES_ERROR_NOT_FOUND);
    CHECK(!read_one("other://x", text, sizeof text, &err));
    CHECK(err.tag == CAPSULE_PLUGIN_TYPES_ERROR_NOT_FOUND && str_eq(&err.val.not_found, "unknown resource `other://x`"));
}

static full_plugin_list_tuple2_string_string_t pairs(size_t count, const char *const kv[][2]) {
    full_plugin_list_tuple2_string_string_t out = {malloc((count ? count : 1) * sizeof(full_plugin_tuple2_string_string_t)), count};
    for (size_t i = 0; i < count; i++) {
        out.ptr[i].f0 = str(kv[i][0]);
        out.ptr[i].f1 = str(kv[i][1]);
    }
    return out;
}

static void test_prompts(void) {
    full_plugin_string_t name = str("brainstorm");
    const char *const tea[][2] = {{"topic", "tea"}};
    full_plugin_list_tuple2_string_string_t args = pairs(1, tea);
    exports_capsule_plugin_prompts_prompt_outcome_t outcome;
    capsule_plugin_types_error_t err;
    CHECK(exports_capsule_plugin_prompts_get_prompt(&name, &args, NULL, &outcome, &err));
    CHECK(outcome.tag == EXPORTS_CAPSULE_PLUGIN_PROMPTS_PROMPT_OUTCOME_COMPLETE);
    exports_capsule_plugin_prompts_get_prompt_result_t *out = &outcome.val.complete;
    CHECK(out->messages.len == 2 && str_eq(&out->messages.ptr[0].content.val.text.text, "Give me 5 ideas about tea."));
    CHECK(out->messages.ptr[1].role == CAPSULE_PLUGIN_TYPES_ROLE_ASSISTANT);
    CHECK(out->messages.ptr[1].content.tag == CAPSULE_PLUGIN_TYPES_CONTENT_BLOCK_EMBEDDED_RESOURCE);
    CHECK(out->description.is_some && str_eq(&out->description.val, "Ideas"));
    exports_capsule_plugin_prompts_prompt_outcome_free(&outcome);

    name = str("brainstorm");
    full_plugin_list_tuple2_string_string_t none = {NULL, 0};
    CHECK(!exports_capsule_plugin_prompts_get_prompt(&name, &none, NULL, &outcome, &err));
    CHECK(err.tag == CAPSULE_PLUGIN_TYPES_ERROR_INVALID_ARGUMENTS && str_eq(&err.val.invalid_arguments, "missing required argument `topic`"));
}

static void test_input_required(void) {
    exports_capsule_plugin_tools_call_outcome_t out;
    capsule_plugin_types_error_t err;
    exports_capsule_plugin_tools_call_tool_result_t ok;
    /* First round: the question and the state; what the handler wrote is dropped. */
    CHECK(call("book", "{\"seats\":3}", &ok, &err) == -1);
    CHECK(call_outcome("book", "{\"seats\":3}", NULL, &out, &err));
    CHECK(out.tag == EXPORTS_CAPSULE_PLUGIN_TOOLS_CALL_OUTCOME_INPUT_REQUIRED);
    capsule_plugin_types_input_required_t *ir = &out.val.input_required;
    CHECK(ir->requests.len == 1 && str_eq(&ir->requests.ptr[0].f0, "who"));
    CHECK(ir->requests.ptr[0].f1.tag == CAPSULE_PLUGIN_TYPES_INPUT_REQUEST_ELICITATION);
    CHECK(str_eq(&ir->requests.ptr[0].f1.val.elicitation, "{\"message\":\"Who are the seats for?\",\"requestedSchema\":" WHO_SCHEMA "}"));
    CHECK(ir->state.is_some && ir->state.val.len == 1 && ir->state.val.ptr[0] == 3);
    exports_capsule_plugin_tools_call_outcome_free(&out);

    /* Next round: the answer by key, and the state back. */
    const char *const accepted[][2] = {{"who", "{\"action\":\"accept\",\"content\":{\"name\":\"Ada\"}}"}, {"extra", "not json"}};
    unsigned char three = 3;
    capsule_plugin_types_resumption_t r = resumption(2, accepted, &three, 1);
    CHECK(call_outcome("book", "{\"seats\":3}", &r, &out, &err));
    CHECK(out.tag == EXPORTS_CAPSULE_PLUGIN_TOOLS_CALL_OUTCOME_COMPLETE && str_eq(&out.val.complete.content.ptr[0].val.text.text, "Ada: 3 seats"));
    exports_capsule_plugin_tools_call_outcome_free(&out);
    const char *const declined[][2] = {{"who", "{\"action\":\"decline\"}"}};
    r = resumption(1, declined, &three, 1);
    CHECK(call_outcome("book", "{}", &r, &out, &err) && out.val.complete.is_error);
    CHECK(str_eq(&out.val.complete.content.ptr[0].val.text.text, "not booked: decline"));
    exports_capsule_plugin_tools_call_outcome_free(&out);
    r = resumption(0, NULL, NULL, 0); /* a client may leave keys out */
    CHECK(call_outcome("book", "{}", &r, &out, &err) && str_eq(&out.val.complete.content.ptr[0].val.text.text, "not booked: no answer"));
    exports_capsule_plugin_tools_call_outcome_free(&out);
    CHECK(!capsule_resuming() && capsule_response("who") == NULL); /* nothing survives the call */

    /* Roots, sampling (text and raw), URL elicitation; no state. */
    CHECK(call_outcome("survey", "{}", NULL, &out, &err) && out.tag == EXPORTS_CAPSULE_PLUGIN_TOOLS_CALL_OUTCOME_INPUT_REQUIRED);
    ir = &out.val.input_required;
    CHECK(ir->requests.len == 4 && !ir->state.is_some);
    CHECK(ir->requests.ptr[0].f1.tag == CAPSULE_PLUGIN_TYPES_INPUT_REQUEST_LIST_ROOTS);
    CHECK(ir->requests.ptr[1].f1.tag == CAPSULE_PLUGIN_TYPES_INPUT_REQUEST_SAMPLING);
    CHECK(str_eq(&ir->requests.ptr[1].f1.val.sampling, "{\"messages\":[{\"role\":\"user\",\"content\":{\"type\":\"text\","
                                                        "\"text\":\"Name this \\\"project\\\"\"}}],\"maxTokens\":20}"));
    CHECK(str_eq(&ir->requests.ptr[2].f1.val.sampling, "{\"messages\":[],\"maxTokens\":1}"));
    CHECK(str_eq(&ir->requests.ptr[3].f1.val.elicitation,
                 "{\"mode\":\"url\",\"message\":\"Sign in\",\"url\":\"https://example.com/a\",\"elicitationId\":\"e-1\"}"));
    exports_capsule_plugin_tools_call_outcome_free(&out);
    const char *const answers[][2] = {
        {"roots", "{\"roots\":[{\"uri\":\"file:///src\",\"name\":\"src\"},{\"uri\":\"file:///doc\"}]}"},
        {"title", "{\"role\":\"assistant\",\"content\":[{\"type\":\"image\"},{\"type\":\"text\",\"text\":\"Capsule\"}],\"model\":\"m\"}"},
    };
    r = resumption(2, answers, NULL, 0);
    CHECK(call_outcome("survey", "{}", &r, &out, &err));
    CHECK(str_eq(&out.val.complete.content.ptr[0].val.text.text, "Capsule: 2 roots, first file:///src"));
    exports_capsule_plugin_tools_call_outcome_free(&out);

    /* Mistakes are internal errors that say what went wrong; a plain tool ignores a resumption. */
    CHECK(!call_outcome("bad_ask", "{\"kind\":\"none\"}", NULL, &out, &err) && str_has(&err.val.internal, "without a request"));
    CHECK(!call_outcome("bad_ask", "{\"kind\":\"twice\"}", NULL, &out, &err) && str_has(&err.val.internal, "key `a` is used twice"));
    CHECK(!call_outcome("bad_ask", "{\"kind\":\"big\"}", NULL, &out, &err) && str_has(&err.val.internal, "16385 bytes, over the host's limit of 16384"));
    CHECK(!call_outcome("bad_ask", "{\"kind\":\"bare\"}", NULL, &out, &err) && str_has(&err.val.internal, "without capsule_input_required()"));
    CHECK(call_outcome("bad_ask", "{\"kind\":\"done\"}", NULL, &out, &err) && out.tag == EXPORTS_CAPSULE_PLUGIN_TOOLS_CALL_OUTCOME_COMPLETE);
    exports_capsule_plugin_tools_call_outcome_free(&out);
    r = resumption(0, NULL, "x", 1);
    CHECK(call_outcome("add", "{\"a\":1}", &r, &out, &err) && out.tag == EXPORTS_CAPSULE_PLUGIN_TOOLS_CALL_OUTCOME_COMPLETE);
    exports_capsule_plugin_tools_call_outcome_free(&out);

    /* Prompts ask too. */
    const char *const topic[][2] = {{"topic", "tests"}};
    full_plugin_string_t name = str("review");
    full_plugin_list_tuple2_string_string_t args = pairs(1, topic);
    exports_capsule_plugin_prompts_prompt_outcome_t p;
    CHECK(exports_capsule_plugin_prompts_get_prompt(&name, &args, NULL, &p, &err));
    CHECK(p.tag == EXPORTS_CAPSULE_PLUGIN_PROMPTS_PROMPT_OUTCOME_INPUT_REQUIRED && p.val.input_required.state.val.len == 2);
    CHECK(str_eq(&p.val.input_required.requests.ptr[0].f1.val.elicitation,
                 "{\"message\":\"Focus of the review?\",\"requestedSchema\":{\"type\":\"object\",\"properties\":{}}}"));
    exports_capsule_plugin_prompts_prompt_outcome_free(&p);
    const char *const focus[][2] = {{"focus", "{\"action\":\"accept\",\"content\":{\"focus\":\"speed\"}}"}};
    r = resumption(1, focus, "\x00\xff", 2);
    name = str("review");
    args = pairs(1, topic);
    CHECK(exports_capsule_plugin_prompts_get_prompt(&name, &args, &r, &p, &err));
    CHECK(p.tag == EXPORTS_CAPSULE_PLUGIN_PROMPTS_PROMPT_OUTCOME_COMPLETE);
    CHECK(str_eq(&p.val.complete.messages.ptr[0].content.val.text.text, "Review tests, focusing on speed (state 2: 0,255)."));
    exports_capsule_plugin_prompts_prompt_outcome_free(&p);
}

static int complete(int prompt, const char *target, const char *argument, const char *value, size_t nctx,
                    const char *const ctx[][2], exports_capsule_plugin_completions_completion_t *out,
                    capsule_plugin_types_error_t *err) {
    exports_capsule_plugin_completions_completion_reference_t ref;
    ref.tag = prompt ? EXPORTS_CAPSULE_PLUGIN_COMPLETIONS_COMPLETION_REFERENCE_PROMPT
                     : EXPORTS_CAPSULE_PLUGIN_COMPLETIONS_COMPLETION_REFERENCE_RESOURCE_TEMPLATE;
    ref.val.prompt = str(target);
    full_plugin_string_t a = str(argument), v = str(value);
    full_plugin_list_tuple2_string_string_t c = pairs(nctx, ctx);
    return exports_capsule_plugin_completions_complete(&ref, &a, &v, &c, out, err);
}

static void test_completions(void) {
    exports_capsule_plugin_completions_completion_t out;
    capsule_plugin_types_error_t err;
    const char *const ctx[][2] = {{"count", "3"}};
    CHECK(complete(1, "brainstorm", "topic", "PY", 1, ctx, &out, &err));
    CHECK(out.values.len == 3 && str_eq(&out.values.ptr[0], "Python") && str_eq(&out.values.ptr[1], "pytest") && str_eq(&out.values.ptr[2], "3"));
    CHECK(out.total.is_some && out.total.val == 3 && !out.has_more);
    exports_capsule_plugin_completions_completion_free(&out);
    /* More than 100: the first 100, the total, has-more. */
    CHECK(complete(0, "x://{a}-{b}", "a", "v", 0, NULL, &out, &err));
    CHECK(out.values.len == 100 && str_eq(&out.values.ptr[0], "v0") && out.total.val == 150 && out.has_more);
    exports_capsule_plugin_completions_completion_free(&out);
    /* Nothing to suggest: empty. */
    CHECK(complete(0, "x://{a}-{b}", "b", "", 0, NULL, &out, &err) && out.values.len == 0 && !out.has_more);
    CHECK(complete(1, "brainstorm", "count", "", 0, NULL, &out, &err) && out.values.len == 0 && !out.total.is_some);
    CHECK(complete(0, "n://{a}", "a", "", 0, NULL, &out, &err) && out.values.len == 0);
    /* Unknown references and failing completers are errors. */
    CHECK(!complete(1, "nope", "a", "", 0, NULL, &out, &err));
    CHECK(err.tag == CAPSULE_PLUGIN_TYPES_ERROR_NOT_FOUND && str_eq(&err.val.not_found, "unknown prompt `nope`"));
    CHECK(!complete(0, "z://{a}", "a", "", 0, NULL, &out, &err) && str_eq(&err.val.not_found, "unknown resource template `z://{a}`"));
    CHECK(!complete(1, "brainstorm", "topic", "fail", 0, NULL, &out, &err));
    CHECK(err.tag == CAPSULE_PLUGIN_TYPES_ERROR_DENIED && str_eq(&err.val.denied, "no suggestions for you"));
}

extern const char *capsule_test_client_capabilities;
extern char capsule_test_updated[8][256];
extern int capsule_test_updated_count;

static void test_host(void) {
    exports_capsule_plugin_tools_call_tool_result_t ok;
    capsule_plugin_types_error_t err;
    capsule_test_client_capabilities = "{\"elicitation\":{},\"roots\":{\"listChanged\":true}}";
    CHECK(call("host_calls", "{}", &ok, &err) == 1 && str_eq(&ok.content.ptr[0].val.text.text, "elicitation=1 url=0 sampling=0 roots=1"));
    CHECK(capsule_test_updated_count == 1 && strcmp(capsule_test_updated[0], "test://about") == 0);
    capsule_test_client_capabilities = "{\"elicitation\":{\"url\":{}},\"sampling\":{}}";
    CHECK(call("host_calls", "{}", &ok, &err) == 1 && str_eq(&ok.content.ptr[0].val.text.text, "elicitation=0 url=1 sampling=1 roots=0"));
    capsule_test_client_capabilities = "{\"elicitation\":{\"form\":{},\"url\":{}}}";
    CHECK(capsule_client_supports(CAPSULE_CAP_ELICITATION) && capsule_client_supports(CAPSULE_CAP_ELICITATION_URL));
    capsule_test_client_capabilities = "[1]";
    const capsule_json *caps = capsule_client_capabilities();
    CHECK(caps->type == CAPSULE_JSON_OBJECT && caps->length == 0 && !capsule_client_supports(CAPSULE_CAP_ROOTS));
    capsule_test_client_capabilities = "{\"sampling\":{}}";
    CHECK(capsule_json_get(capsule_client_capabilities(), "sampling") != NULL);
    capsule_test_client_capabilities = "{}";
}

int main(void) {
    test_json();
    test_describe();
    test_tools();
    test_task_support();
    test_resources();
    test_prompts();
    test_input_required();
    test_completions();
    test_host();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("C SDK: all checks passed\n");
    return 0;
}
