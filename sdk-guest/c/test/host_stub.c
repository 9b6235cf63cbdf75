/* Native stand-ins for the host imports, so SDK and plugin code can be unit-tested on the build
 * machine (`make guest-test-c` compiles with `zig cc` for the host). */
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>

int capsule_test_cancelled = 0;
int capsule_test_progress_calls = 0;

void __wasm_import_capsule_plugin_host_log(int32_t level, uint8_t *ptr, size_t len) {
    fprintf(stderr, "[log %d] %.*s\n", (int)level, (int)len, (const char *)ptr);
}

void __wasm_import_capsule_plugin_host_progress(double progress, int32_t has_total, double total, int32_t has_message,
                                                uint8_t *ptr, size_t len) {
    (void)progress; (void)has_total; (void)total; (void)has_message; (void)ptr; (void)len;
    capsule_test_progress_calls++;
}

int32_t __wasm_import_capsule_plugin_host_cancelled(void) { return capsule_test_cancelled; }

/* Defined by the wasm object <world>_component_type.o, which only a wasm link uses. */
void __component_type_object_force_link_full_plugin(void) {}
