/* Native stand-ins for the host imports, so SDK and plugin code can be unit-tested on the build
 * machine (`make guest-test-c` compiles with `zig cc` for the host). */
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

int capsule_test_cancelled = 0;
int capsule_test_progress_calls = 0;

/* The last message logged, and how many were. */
char capsule_test_last_log[512];
int capsule_test_log_count = 0;

void __wasm_import_capsule_plugin_host_log(int32_t level, uint8_t *ptr, size_t len) {
    fprintf(stderr, "[log %d] %.*s\n", (int)level, (int)len, (const char *)ptr);
    snprintf(capsule_test_last_log, sizeof capsule_test_last_log, "%.*s", (int)len, (const char *)ptr);
    capsule_test_log_count++;
}

void __wasm_import_capsule_plugin_host_progress(double progress, int32_t has_total, double total, int32_t has_message,
                                                uint8_t *ptr, size_t len) {
    (void)progress; (void)has_total; (void)total; (void)has_message; (void)ptr; (void)len;
    capsule_test_progress_calls++;
}

int32_t __wasm_import_capsule_plugin_host_cancelled(void) { return capsule_test_cancelled; }

/* What client-capabilities answers (JSON text); tests set it. */
const char *capsule_test_client_capabilities = "{}";
/* The URIs resource-updated got, newest last (up to 8). */
char capsule_test_updated[8][256];
int capsule_test_updated_count = 0;

void __wasm_import_capsule_plugin_host_client_capabilities(uint8_t *ret) {
    size_t len = strlen(capsule_test_client_capabilities);
    uint8_t *copy = malloc(len ? len : 1); /* the bindings' caller frees it, as cabi_realloc memory */
    memcpy(copy, capsule_test_client_capabilities, len);
    *(uint8_t **)ret = copy;
    *(size_t *)(ret + sizeof(void *)) = len;
}

void __wasm_import_capsule_plugin_host_resource_updated(uint8_t *ptr, size_t len) {
    if (capsule_test_updated_count < 8) {
        snprintf(capsule_test_updated[capsule_test_updated_count++], 256, "%.*s", (int)len, (const char *)ptr);
    }
}

/* Defined by the wasm object <world>_component_type.o, which only a wasm link uses. */
void __component_type_object_force_link_full_plugin(void) {}
