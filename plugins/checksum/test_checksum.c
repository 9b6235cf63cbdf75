/* Native unit tests of the checksum plugin (known CRC-32 / Adler-32 vectors, input handling, the
 * rounds of `describe`). `make guest-test-c` builds them with `zig cc` for the build machine and runs
 * them from the repository root; the files in a granted /data are covered by the end-to-end parity
 * tests. */
#define _DEFAULT_SOURCE /* realpath under -std=c11 */
#include <stdlib.h>

#include "capsule.h"
#include "testing.h"

extern const char *capsule_test_client_capabilities;

static const char *text_of(const exports_capsule_plugin_tools_call_outcome_t *out) {
    static char buf[1024];
    if (out->tag != EXPORTS_CAPSULE_PLUGIN_TOOLS_CALL_OUTCOME_COMPLETE || out->val.complete.is_error) return "(not a result)";
    const full_plugin_string_t *t = &out->val.complete.content.ptr[0].val.text.text;
    snprintf(buf, sizeof buf, "%.*s", (int)t->len, (const char *)t->ptr);
    return buf;
}

/* describe on check.txt (an absolute host path: natively there is no /data). */
static void test_describe(void) {
    char file[4096], args[4200], want[4400];
    if (!realpath("plugins/checksum/data/check.txt", file)) {
        fprintf(stderr, "run from the repository root (plugins/checksum/data/check.txt not found)\n");
        failures++;
        return;
    }
    snprintf(args, sizeof args, "{\"path\":\"%s\"}", file);
    const char *facts = "9 bytes, CRC-32 cbf43926, Adler-32 091e01de";
    exports_capsule_plugin_tools_call_outcome_t out;
    capsule_plugin_types_error_t err;

    /* Round 1: the question, no state. */
    capsule_test_client_capabilities = "{\"elicitation\":{}}";
    CHECK(call_outcome("describe", args, NULL, &out, &err) && out.tag == EXPORTS_CAPSULE_PLUGIN_TOOLS_CALL_OUTCOME_INPUT_REQUIRED);
    capsule_plugin_types_input_required_t *ir = &out.val.input_required;
    CHECK(ir->requests.len == 1 && str_eq(&ir->requests.ptr[0].f0, "focus") && !ir->state.is_some);
    CHECK(ir->requests.ptr[0].f1.tag == CAPSULE_PLUGIN_TYPES_INPUT_REQUEST_ELICITATION);
    snprintf(want, sizeof want, "{\"message\":\"What should the description of %s focus on?\"", file);
    CHECK(str_has(&ir->requests.ptr[0].f1.val.elicitation, want));
    CHECK(str_has(&ir->requests.ptr[0].f1.val.elicitation, "\"required\":[\"focus\"]"));
    exports_capsule_plugin_tools_call_outcome_free(&out);

    /* Round 2 without sampling: the answer, trimmed. */
    const char *const accepted[][2] = {{"focus", "{\"action\":\"accept\",\"content\":{\"focus\":\" integrity \"}}"}};
    capsule_plugin_types_resumption_t r = resumption(1, accepted, NULL, 0);
    CHECK(call_outcome("describe", args, &r, &out, &err));
    snprintf(want, sizeof want, "%s (focus: integrity)\n%s", file, facts);
    CHECK(strcmp(text_of(&out), want) == 0);
    exports_capsule_plugin_tools_call_outcome_free(&out);
    const char *const empty[][2] = {{"focus", "{\"action\":\"accept\",\"content\":{\"focus\":\"\"}}"}};
    r = resumption(1, empty, NULL, 0);
    CHECK(call_outcome("describe", args, &r, &out, &err) && strstr(text_of(&out), "(focus: everything)\n"));
    exports_capsule_plugin_tools_call_outcome_free(&out);
    const char *const declined[][2] = {{"focus", "{\"action\":\"decline\"}"}};
    r = resumption(1, declined, NULL, 0);
    CHECK(call_outcome("describe", args, &r, &out, &err) && strcmp(text_of(&out), "Not described (decline).") == 0);
    exports_capsule_plugin_tools_call_outcome_free(&out);
    const char *const other[][2] = {{"other", "{}"}}; /* a retry without the answer asks again */
    r = resumption(1, other, NULL, 0);
    CHECK(call_outcome("describe", args, &r, &out, &err) && out.tag == EXPORTS_CAPSULE_PLUGIN_TOOLS_CALL_OUTCOME_INPUT_REQUIRED);
    exports_capsule_plugin_tools_call_outcome_free(&out);

    /* Round 2 with sampling: the model is asked, the focus goes into the state; round 3 answers. */
    capsule_test_client_capabilities = "{\"elicitation\":{},\"sampling\":{}}";
    r = resumption(1, accepted, NULL, 0);
    CHECK(call_outcome("describe", args, &r, &out, &err) && out.tag == EXPORTS_CAPSULE_PLUGIN_TOOLS_CALL_OUTCOME_INPUT_REQUIRED);
    ir = &out.val.input_required;
    CHECK(ir->requests.len == 1 && str_eq(&ir->requests.ptr[0].f0, "description"));
    CHECK(ir->requests.ptr[0].f1.tag == CAPSULE_PLUGIN_TYPES_INPUT_REQUEST_SAMPLING);
    CHECK(str_has(&ir->requests.ptr[0].f1.val.sampling, "who cares about integrity. What is known about it: 9 bytes"));
    CHECK(str_has(&ir->requests.ptr[0].f1.val.sampling, "\"maxTokens\":200"));
    CHECK(ir->state.is_some && ir->state.val.len == 9 && memcmp(ir->state.val.ptr, "integrity", 9) == 0);
    exports_capsule_plugin_tools_call_outcome_free(&out);
    const char *const sampled[][2] = {{"description", "{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"Nine digits.\"},\"model\":\"m\"}"}};
    r = resumption(1, sampled, "integrity", 9);
    CHECK(call_outcome("describe", args, &r, &out, &err));
    snprintf(want, sizeof want, "%s (focus: integrity)\n%s\nNine digits.", file, facts);
    CHECK(strcmp(text_of(&out), want) == 0);
    exports_capsule_plugin_tools_call_outcome_free(&out);
    capsule_test_client_capabilities = "{}";

    /* The file is read before anything is asked. */
    CHECK(!call_outcome("describe", "{\"path\":\"/nonexistent-capsule/x.txt\"}", NULL, &out, &err));
    CHECK(err.tag == CAPSULE_PLUGIN_TYPES_ERROR_NOT_FOUND);
}

static void expect(const char *json, const char *hex) {
    exports_capsule_plugin_tools_call_tool_result_t ok;
    capsule_plugin_types_error_t err;
    char want[64];
    snprintf(want, sizeof want, "\"hex\":\"%s\"", hex);
    if (!call("checksum", json, &ok, &err)) {
        fprintf(stderr, "checksum(%s) failed: %.*s\n", json, (int)err.val.internal.len, (const char *)err.val.internal.ptr);
        failures++;
        return;
    }
    CHECK(ok.structured_content.is_some && str_has(&ok.structured_content.val, want));
}

static void expect_invalid(const char *tool, const char *json, const char *message) {
    exports_capsule_plugin_tools_call_tool_result_t ok;
    capsule_plugin_types_error_t err;
    CHECK(!call(tool, json, &ok, &err));
    CHECK(err.tag == CAPSULE_PLUGIN_TYPES_ERROR_INVALID_ARGUMENTS && str_has(&err.val.invalid_arguments, message));
}

/* Every tool's input schema is written portable: a closed object listing every property in
 * `required`, in name order, with no `default` (a structural check; the e2e tests run the full one). */
static void test_schemas_are_portable(void) {
    exports_capsule_plugin_tools_list_tool_t list;
    exports_capsule_plugin_tools_list_tools(&list);
    CHECK(list.len == 4);
    for (size_t i = 0; i < list.len; i++) {
        char err[128];
        const full_plugin_string_t *text = &list.ptr[i].input_schema;
        capsule_json *s = capsule_json_parse((const char *)text->ptr, text->len, err, sizeof err);
        CHECK(s != NULL);
        if (!s) continue;
        const capsule_json *props = capsule_json_get(s, "properties"), *required = capsule_json_get(s, "required");
        bool closed = false;
        CHECK(capsule_json_bool(capsule_json_get(s, "additionalProperties"), &closed) && !closed);
        CHECK(props && props->type == CAPSULE_JSON_OBJECT && required && required->type == CAPSULE_JSON_ARRAY);
        CHECK(props && required && props->length == required->length);
        for (size_t k = 0; props && required && k < props->length && k < required->length; k++) {
            const char *name = capsule_json_string(capsule_json_at(required, k), NULL);
            CHECK(name && strcmp(name, props->keys[k]) == 0);
            CHECK(k == 0 || strcmp(props->keys[k - 1], props->keys[k]) < 0);
        }
        CHECK(!str_has(text, "\"default\"") && !str_has(text, "\"type\":["));
        capsule_json_free(s);
        free(s);
    }
    exports_capsule_plugin_tools_list_tool_free(&list);
}

int main(void) {
    test_schemas_are_portable();
    expect("{\"input\":\"123456789\",\"encoding\":\"text\"}", "cbf43926");   /* the CRC-32 check value */
    expect("{\"input\":\"123456789\",\"encoding\":\"text\",\"algorithm\":null}", "cbf43926"); /* null: the default */
    expect("{\"input\":\"\",\"encoding\":\"text\",\"algorithm\":\"crc32\"}", "00000000");
    expect("{\"input\":\"The quick brown fox jumps over the lazy dog\",\"encoding\":\"text\"}", "414fa339");
    expect("{\"input\":\"Wikipedia\",\"encoding\":\"text\",\"algorithm\":\"adler32\"}", "11e60398"); /* RFC 1950's example */
    expect("{\"input\":\"\",\"encoding\":\"text\",\"algorithm\":\"adler32\"}", "00000001");
    expect("{\"input\":\"MTIzNDU2Nzg5\",\"encoding\":\"base64\",\"algorithm\":null}", "cbf43926");
    expect("{\"input\":\"MTIz NDU2\\nNzg5\",\"encoding\":\"base64\"}", "cbf43926"); /* whitespace ignored */
    expect_invalid("checksum", "{}", "`input` is missing");
    expect_invalid("checksum", "{\"input\":\"a\",\"encoding\":null}", "`encoding` must be");
    expect_invalid("checksum", "{\"input\":\"a\",\"encoding\":\"hex\"}", "`encoding` must be");
    expect_invalid("checksum", "{\"input\":\"a*b\",\"encoding\":\"base64\"}", "`input` is not valid base64");
    expect_invalid("checksum", "{\"input\":\"a\",\"encoding\":\"text\",\"algorithm\":\"md5\"}", "unknown algorithm");
    expect_invalid("verify", "{\"input\":\"a\",\"encoding\":\"text\",\"expected\":\"xyz\"}", "1 to 8 hex digits");
    expect_invalid("verify", "{\"input\":\"a\",\"encoding\":\"text\",\"expected\":\"123456789\"}", "1 to 8 hex digits");

    exports_capsule_plugin_tools_call_tool_result_t ok;
    capsule_plugin_types_error_t err;
    CHECK(call("verify", "{\"input\":\"123456789\",\"encoding\":\"text\",\"algorithm\":null,\"expected\":\"CBF43926\"}", &ok, &err));
    CHECK(str_has(&ok.structured_content.val, "\"match\":true"));
    CHECK(call("verify", "{\"input\":\"MTIzNDU2Nzg5\",\"encoding\":\"base64\",\"expected\":\"1\"}", &ok, &err));
    CHECK(str_has(&ok.structured_content.val, "\"match\":false"));

    /* A large input crosses Adler-32's 5552-byte reduction boundary. */
    size_t n = 100000;
    char *big = malloc(n + 64);
    strcpy(big, "{\"algorithm\":\"adler32\",\"encoding\":\"text\",\"input\":\"");
    size_t at = strlen(big);
    memset(big + at, 'a', n);
    strcpy(big + at + n, "\"}");
    expect(big, "79660b4d"); /* zlib.adler32(b"a" * 100000) */
    free(big);

    /* File names complete from /data; natively there is no /data, so nothing (but a completer ran). */
    exports_capsule_plugin_completions_completion_reference_t ref = {.tag = EXPORTS_CAPSULE_PLUGIN_COMPLETIONS_COMPLETION_REFERENCE_PROMPT};
    ref.val.prompt = str("verify_file");
    full_plugin_string_t arg = str("name"), value = str("re");
    full_plugin_list_tuple2_string_string_t context = {NULL, 0};
    exports_capsule_plugin_completions_completion_t done;
    CHECK(exports_capsule_plugin_completions_complete(&ref, &arg, &value, &context, &done, &err));
    CHECK(done.values.len == 0 && done.total.is_some && done.total.val == 0);
    ref.tag = EXPORTS_CAPSULE_PLUGIN_COMPLETIONS_COMPLETION_REFERENCE_RESOURCE_TEMPLATE;
    ref.val.resource_template = str("checksum://{name}");
    arg = str("name");
    value = str("");
    CHECK(exports_capsule_plugin_completions_complete(&ref, &arg, &value, &context, &done, &err) && done.total.is_some);

    test_describe();

    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("checksum: all checks passed\n");
    return 0;
}
