/* Native unit tests of the checksum plugin (known CRC-32 / Adler-32 vectors, input handling).
 * `make guest-test-c` builds them with `zig cc` for the build machine; files are covered by the
 * end-to-end parity tests. */
#include "capsule.h"
#include "testing.h"

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

int main(void) {
    expect("{\"text\":\"123456789\"}", "cbf43926");                        /* the CRC-32 check value */
    expect("{\"text\":\"\"}", "00000000");
    expect("{\"text\":\"The quick brown fox jumps over the lazy dog\"}", "414fa339");
    expect("{\"text\":\"Wikipedia\",\"algorithm\":\"adler32\"}", "11e60398");  /* RFC 1950's example */
    expect("{\"text\":\"\",\"algorithm\":\"adler32\"}", "00000001");
    expect("{\"base64\":\"MTIzNDU2Nzg5\"}", "cbf43926");
    expect("{\"base64\":\"MTIz NDU2\\nNzg5\"}", "cbf43926");                /* whitespace ignored */
    expect_invalid("checksum", "{}", "exactly one of `text` and `base64`");
    expect_invalid("checksum", "{\"text\":\"a\",\"base64\":\"YQ==\"}", "exactly one");
    expect_invalid("checksum", "{\"base64\":\"a*b\"}", "not valid base64");
    expect_invalid("verify", "{\"text\":\"a\",\"expected\":\"xyz\"}", "1 to 8 hex digits");
    expect_invalid("verify", "{\"text\":\"a\",\"expected\":\"123456789\"}", "1 to 8 hex digits");

    exports_capsule_plugin_tools_call_tool_result_t ok;
    capsule_plugin_types_error_t err;
    CHECK(call("verify", "{\"text\":\"123456789\",\"expected\":\"CBF43926\"}", &ok, &err));
    CHECK(str_has(&ok.structured_content.val, "\"match\":true"));
    CHECK(call("verify", "{\"text\":\"123456789\",\"expected\":\"1\"}", &ok, &err));
    CHECK(str_has(&ok.structured_content.val, "\"match\":false"));

    /* A large input crosses Adler-32's 5552-byte reduction boundary. */
    size_t n = 100000;
    char *big = malloc(n + 64);
    strcpy(big, "{\"algorithm\":\"adler32\",\"text\":\"");
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

    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("checksum: all checks passed\n");
    return 0;
}
