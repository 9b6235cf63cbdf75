/* Native unit tests of the C SDK (JSON helper, dispatch, error mapping, URI templates, prompts).
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

static const capsule_tool tools[] = {
    {.name = "add", .description = "Add", .call = add, .read_only = CAPSULE_YES,
     .input_schema = "{\"type\":\"object\"}", .output_schema = "{\"type\":\"object\"}"},
    {.name = "fail", .description = "Fail", .call = fail},
    {.name = "echo", .description = "Echo", .call = echo},
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

static const capsule_template templates[] = {
    {.uri_template = "x://{a}-{b}", .name = "pair", .read = read_item},
    {.uri_template = "n://{a}", .name = "one", .mime_type = "text/plain", .read = read_item},
    {.uri_template = "op://{+a}", .name = "operator", .read = read_item},
};

static void lister(capsule_resource_list *list) { capsule_list_add(list, "test://listed", "listed", NULL, NULL, 42); }

static capsule_status brainstorm(const capsule_prompt_args *args, capsule_messages *out) {
    const char *count = capsule_prompt_arg(args, "count");
    capsule_message(out, CAPSULE_USER, "Give me %s ideas about %s.", count ? count : "5", capsule_prompt_arg(args, "topic"));
    return capsule_message_resource(out, CAPSULE_ASSISTANT, "test://about", "about", 5, "text/plain");
}

static const capsule_prompt_argument brainstorm_args[] = {{"topic", "What about", true}, {"count", NULL, false}};
static const capsule_prompt prompts[] = {
    {.name = "brainstorm", .description = "Ideas", .arguments = brainstorm_args, .argument_count = 2, .render = brainstorm},
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
    CHECK(list.len == 3 && str_eq(&list.ptr[0].name, "add"));
    CHECK(list.ptr[0].annotations.is_some && list.ptr[0].annotations.val.read_only_hint.is_some);
    CHECK(!list.ptr[0].annotations.val.destructive_hint.is_some);
    CHECK(str_eq(&list.ptr[1].input_schema, "{\"type\":\"object\",\"additionalProperties\":false}"));
    exports_capsule_plugin_tools_list_tool_free(&list);

    exports_capsule_plugin_tools_call_tool_result_t ok;
    capsule_plugin_types_error_t err;
    CHECK(call("add", "{\"a\": 2, \"b\": 0.5}", &ok, &err));
    CHECK(ok.structured_content.is_some && str_eq(&ok.structured_content.val, "{\"sum\":2.5}"));
    CHECK(ok.content.len == 1 && ok.content.ptr[0].tag == CAPSULE_PLUGIN_TYPES_CONTENT_BLOCK_TEXT);
    CHECK(str_eq(&ok.content.ptr[0].val.text.text, "{\"sum\":2.5}") && !ok.is_error);
    CHECK(call("add", "", &ok, &err)); /* empty arguments are {} */
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
    CHECK(read_one("x://1-2-3", text, sizeof text, &err) && strcmp(text, "1|2-3") == 0); /* shortest first */
    CHECK(read_one("n://..%2Fetc", text, sizeof text, &err) && strcmp(text, "../etc|-") == 0);
    CHECK(read_one("n://100%", text, sizeof text, &err) && strcmp(text, "100%|-") == 0);
    CHECK(read_one("n://%C3%A9", text, sizeof text, &err) && strcmp(text, "\xc3\xa9|-") == 0);
    CHECK(read_one("n://", text, sizeof text, &err) && strcmp(text, "|-") == 0);
    CHECK(!read_one("n://%FF", text, sizeof text, &err) && err.tag == CAPSULE_PLUGIN_TYPES_ERROR_NOT_FOUND);
    CHECK(!read_one("op://x", text, sizeof text, &err) && err.tag == CAPSULE_PLUGIN_TYPES_ERROR_NOT_FOUND);
    CHECK(!read_one("other://x", text, sizeof text, &err));
    CHECK(err.tag == CAPSULE_PLUGIN_TYPES_ERROR_NOT_FOUND && str_eq(&err.val.not_found, "unknown resource `other://x`"));
}

static void test_prompts(void) {
    full_plugin_string_t name = str("brainstorm");
    full_plugin_list_tuple2_string_string_t args = {malloc(sizeof(full_plugin_tuple2_string_string_t)), 1};
    args.ptr[0].f0 = str("topic");
    args.ptr[0].f1 = str("tea");
    exports_capsule_plugin_prompts_get_prompt_result_t out;
    capsule_plugin_types_error_t err;
    CHECK(exports_capsule_plugin_prompts_get_prompt(&name, &args, &out, &err));
    CHECK(out.messages.len == 2 && str_eq(&out.messages.ptr[0].content.val.text.text, "Give me 5 ideas about tea."));
    CHECK(out.messages.ptr[1].role == CAPSULE_PLUGIN_TYPES_ROLE_ASSISTANT);
    CHECK(out.messages.ptr[1].content.tag == CAPSULE_PLUGIN_TYPES_CONTENT_BLOCK_EMBEDDED_RESOURCE);
    CHECK(out.description.is_some && str_eq(&out.description.val, "Ideas"));
    exports_capsule_plugin_prompts_get_prompt_result_free(&out);

    name = str("brainstorm");
    full_plugin_list_tuple2_string_string_t none = {NULL, 0};
    CHECK(!exports_capsule_plugin_prompts_get_prompt(&name, &none, &out, &err));
    CHECK(err.tag == CAPSULE_PLUGIN_TYPES_ERROR_INVALID_ARGUMENTS && str_eq(&err.val.invalid_arguments, "missing required argument `topic`"));
}

int main(void) {
    test_json();
    test_describe();
    test_tools();
    test_resources();
    test_prompts();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("C SDK: all checks passed\n");
    return 0;
}
