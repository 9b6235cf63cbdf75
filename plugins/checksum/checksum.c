/* checksum: CRC-32 and Adler-32 over text, bytes or files — a Capsule plugin in C.
 *
 * Tools `checksum` (an `input` written as text or base64, as `encoding` says), `checksum_file` (a
 * file in /data, streamed in chunks, with progress and cancellation), `verify` (compare with an
 * expected value) and `describe` (asks
 * the user what matters to them in a file, and has the client's model describe it when the client
 * can sample); every file in
 * /data is a resource `checksum://{name}` whose contents are its checksums (JSON); the prompt
 * `verify_file` asks the model to compare a file's checksums with a published one. File names
 * complete (the prompt's `name`, the template's `{name}`) from /data. /data exists only when the
 * operator grants it (`capsule serve --fs checksum:/data=DIR:ro`).
 *
 * Build: sdk-guest/c/capsule-cc --world full-plugin plugins/checksum/checksum.c -o target/plugins/checksum.wasm
 */
#include "capsule.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATA "/data"
#define CHUNK 65536

/* ------------------------------------------------------------------------------ algorithms */

static uint32_t crc_table[256];

static void crc32_init(void) {
    if (crc_table[1]) return;
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

/* CRC-32 (IEEE 802.3, as zlib and PNG): start with 0, feed chunks. */
static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n) {
    crc32_init();
    crc = ~crc;
    while (n--) crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* Adler-32 (RFC 1950): start with 1, feed chunks. */
static uint32_t adler32_update(uint32_t adler, const unsigned char *p, size_t n) {
    uint32_t a = adler & 0xffff, b = adler >> 16;
    while (n) {
        size_t run = n < 5552 ? n : 5552; /* the largest run before b can overflow */
        n -= run;
        while (run--) {
            a += *p++;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    return (b << 16) | a;
}

typedef enum { CRC32, ADLER32 } algorithm;

typedef struct {
    uint32_t crc, adler;
    unsigned long long bytes;
} sums;

static void sums_init(sums *s) {
    s->crc = 0;
    s->adler = 1;
    s->bytes = 0;
}

static void sums_update(sums *s, const void *p, size_t n) {
    s->crc = crc32_update(s->crc, p, n);
    s->adler = adler32_update(s->adler, p, n);
    s->bytes += n;
}

static uint32_t sums_value(const sums *s, algorithm alg) { return alg == CRC32 ? s->crc : s->adler; }

static const char *algorithm_name(algorithm alg) { return alg == CRC32 ? "crc32" : "adler32"; }

/* ------------------------------------------------------------------------------ input */

static capsule_status parse_algorithm(const capsule_json *args, algorithm *out) {
    const char *name = capsule_arg_string(args, "algorithm", NULL);
    if (!name || strcmp(name, "crc32") == 0) *out = CRC32;
    else if (strcmp(name, "adler32") == 0) *out = ADLER32;
    else return capsule_fail(CAPSULE_INVALID_ARGUMENTS, "unknown algorithm `%s`: use crc32 or adler32", name);
    return CAPSULE_OK;
}

static int base64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Decode standard or URL-safe base64 (padding optional, whitespace ignored). */
static capsule_status base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len) {
    unsigned char *buf = malloc(len / 4 * 3 + 3);
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    bool padding = false;
    if (!buf) return capsule_fail(CAPSULE_INTERNAL, "out of memory");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        if (c == '=') {
            padding = true;
            continue;
        }
        int v = base64_value(c);
        if (v < 0 || padding) {
            free(buf);
            return capsule_fail(CAPSULE_INVALID_ARGUMENTS, "`input` is not valid base64 (offending character at offset %zu)", i);
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (unsigned char)(acc >> bits);
        }
    }
    *out = buf;
    *out_len = n;
    return CAPSULE_OK;
}

/* The input bytes: `input`, written as `encoding` says (UTF-8 text or base64). One required
 * string and a required enum, rather than "exactly one of two optional fields": a contract
 * strict-mode clients (which fill every property) can keep. `*owned` is set when they were decoded. */
static capsule_status input_bytes(const capsule_json *args, const unsigned char **bytes, size_t *len, unsigned char **owned) {
    size_t input_len = 0;
    const char *input = capsule_arg_string(args, "input", &input_len);
    const char *encoding = capsule_arg_string(args, "encoding", NULL);
    *owned = NULL;
    if (!input) return capsule_fail(CAPSULE_INVALID_ARGUMENTS, "`input` is missing: give the bytes as text or base64");
    if (!encoding || (strcmp(encoding, "text") != 0 && strcmp(encoding, "base64") != 0)) {
        return capsule_fail(CAPSULE_INVALID_ARGUMENTS, "`encoding` must be \"text\" or \"base64\"");
    }
    if (strcmp(encoding, "text") == 0) {
        *bytes = (const unsigned char *)input;
        *len = input_len;
        return CAPSULE_OK;
    }
    capsule_status s = base64_decode(input, input_len, owned, len);
    *bytes = *owned;
    return s;
}

static void write_result(capsule_jw *w, algorithm alg, const sums *s) {
    char hex[9];
    snprintf(hex, sizeof hex, "%08x", sums_value(s, alg));
    capsule_jw_key(w, "algorithm");
    capsule_jw_string(w, algorithm_name(alg));
    capsule_jw_key(w, "hex");
    capsule_jw_string(w, hex);
    capsule_jw_key(w, "value");
    capsule_jw_uint(w, sums_value(s, alg));
    capsule_jw_key(w, "bytes");
    capsule_jw_uint(w, s->bytes);
}

/* Checksums of a file, read in chunks; reports progress, stops when the client cancels. */
static capsule_status file_sums(const char *path, sums *s) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return capsule_fail_errno(errno, "cannot open %s", path);
    struct stat st;
    double total = fstat(fd, &st) == 0 ? (double)st.st_size : -1;
    unsigned char *buf = malloc(CHUNK);
    if (!buf) {
        close(fd);
        return capsule_fail(CAPSULE_INTERNAL, "out of memory");
    }
    sums_init(s);
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return capsule_fail_errno(e, "cannot read %s", path);
        }
        if (n == 0) break;
        sums_update(s, buf, (size_t)n);
        if (total > CHUNK) {
            capsule_progress((double)s->bytes, total, NULL);
            if (capsule_cancelled()) {
                free(buf);
                close(fd);
                return capsule_fail(CAPSULE_INTERNAL, "cancelled after %llu bytes", s->bytes);
            }
        }
    }
    free(buf);
    close(fd);
    return CAPSULE_OK;
}

/* A file name from a URI or prompt argument: no directories, no "..". */
static capsule_status check_name(const char *name) {
    if (!*name || strchr(name, '/') || strchr(name, '\\') || name[0] == '.') {
        return capsule_fail(CAPSULE_INVALID_ARGUMENTS, "invalid file name `%s`: give a file in " DATA ", e.g. release.txt", name);
    }
    return CAPSULE_OK;
}

/* ------------------------------------------------------------------------------ tools */

/* The input schemas are portable (accepted unchanged by OpenAI strict mode, Gemini and Claude):
 * closed objects, every property in `required`, optional ones nullable with their default in the
 * description, properties in name order (as the host publishes them, so `required` follows the
 * order of `properties`). A null argument reads as absent through capsule_arg_* (see the C SDK's
 * README, "Portable schemas"). */
#define ALGORITHM_PROPERTY                                                                                \
    "\"algorithm\":{\"anyOf\":[{\"type\":\"string\",\"enum\":[\"crc32\",\"adler32\"]},{\"type\":\"null\"}],"     \
    "\"description\":\"CRC-32 (as zlib, PNG, gzip) or Adler-32. Default: \\\"crc32\\\".\"}"
#define ENCODING_PROPERTY                                                                                 \
    "\"encoding\":{\"type\":\"string\",\"enum\":[\"text\",\"base64\"],"                                       \
    "\"description\":\"How `input` is written: text (its UTF-8 bytes) or base64\"}"
#define INPUT_PROPERTY "\"input\":{\"type\":\"string\",\"description\":\"The bytes, written as `encoding` says\"}"

static const char RESULT_SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"algorithm\":{\"type\":\"string\"},"
    "\"hex\":{\"type\":\"string\",\"description\":\"8 lower-case hex digits\"},"
    "\"value\":{\"type\":\"integer\",\"minimum\":0},"
    "\"bytes\":{\"type\":\"integer\",\"minimum\":0},"
    "\"path\":{\"type\":\"string\"}},"
    "\"required\":[\"algorithm\",\"hex\",\"value\",\"bytes\"]}";

static capsule_status tool_checksum(const capsule_json *args, capsule_result *out) {
    algorithm alg;
    const unsigned char *bytes;
    size_t len;
    unsigned char *owned;
    if (parse_algorithm(args, &alg) != CAPSULE_OK) return CAPSULE_INVALID_ARGUMENTS;
    capsule_status s = input_bytes(args, &bytes, &len, &owned);
    if (s != CAPSULE_OK) return s;
    sums sum;
    sums_init(&sum);
    sums_update(&sum, bytes, len);
    free(owned);
    capsule_jw *w = capsule_structured(out);
    capsule_jw_object(w);
    write_result(w, alg, &sum);
    capsule_jw_end(w);
    return CAPSULE_OK;
}

/* `path` as the sandbox sees it: relative paths are in /data, absolute ones stay as given (the
 * sandbox refuses anything outside what was granted). */
static void data_path(const char *path, char *full, size_t size) {
    snprintf(full, size, "%s%s%s", path[0] == '/' ? "" : DATA, path[0] == '/' ? "" : "/", path);
}

static capsule_status tool_checksum_file(const capsule_json *args, capsule_result *out) {
    algorithm alg;
    if (parse_algorithm(args, &alg) != CAPSULE_OK) return CAPSULE_INVALID_ARGUMENTS;
    const char *path = capsule_arg_string(args, "path", NULL);
    char full[4096];
    data_path(path, full, sizeof full);
    sums sum;
    capsule_status s = file_sums(full, &sum);
    if (s != CAPSULE_OK) return s;
    capsule_jw *w = capsule_structured(out);
    capsule_jw_object(w);
    write_result(w, alg, &sum);
    capsule_jw_key(w, "path");
    capsule_jw_string(w, full);
    capsule_jw_end(w);
    return CAPSULE_OK;
}

static capsule_status tool_verify(const capsule_json *args, capsule_result *out) {
    algorithm alg;
    if (parse_algorithm(args, &alg) != CAPSULE_OK) return CAPSULE_INVALID_ARGUMENTS;
    const char *expected = capsule_arg_string(args, "expected", NULL);
    char *end = NULL;
    unsigned long want = strtoul(expected, &end, 16);
    size_t digits = (size_t)(end - expected);
    if (digits == 0 || digits > 8 || *end != '\0' || (expected[0] == '0' && (expected[1] == 'x' || expected[1] == 'X'))) {
        return capsule_fail(CAPSULE_INVALID_ARGUMENTS, "`expected` must be 1 to 8 hex digits (e.g. cbf43926), not `%s`", expected);
    }
    const unsigned char *bytes;
    size_t len;
    unsigned char *owned;
    capsule_status s = input_bytes(args, &bytes, &len, &owned);
    if (s != CAPSULE_OK) return s;
    sums sum;
    sums_init(&sum);
    sums_update(&sum, bytes, len);
    free(owned);
    capsule_jw *w = capsule_structured(out);
    capsule_jw_object(w);
    capsule_jw_key(w, "match");
    capsule_jw_bool(w, sums_value(&sum, alg) == (uint32_t)want);
    write_result(w, alg, &sum);
    capsule_jw_end(w);
    return CAPSULE_OK;
}

/* describe: three rounds at most. 1: ask the user what to focus on (elicitation). 2: with their
 * answer, describe the file, or, when the client can sample, ask its model to and carry the focus
 * to the next round in the state. 3: the model's text. */
static const char FOCUS_SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{\"focus\":{\"type\":\"string\","
    "\"description\":\"What matters to you in this file, e.g. whether it is intact, which checksum to publish\"}},"
    "\"required\":[\"focus\"]}";

static capsule_status described(capsule_result *out, const char *path, const char *focus, size_t focus_len,
                                const char *facts, const char *model, size_t model_len) {
    if (model && model_len) {
        return capsule_text(out, "%s (focus: %.*s)\n%s\n%.*s", path, (int)focus_len, focus, facts, (int)model_len, model);
    }
    return capsule_text(out, "%s (focus: %.*s)\n%s", path, (int)focus_len, focus, facts);
}

static capsule_status tool_describe(const capsule_json *args, capsule_result *out) {
    const char *path = capsule_arg_string(args, "path", NULL);
    char full[4096];
    data_path(path, full, sizeof full);
    /* Every round reads the file again: a bad path fails before the user is asked anything. */
    sums sum;
    capsule_status s = file_sums(full, &sum);
    if (s != CAPSULE_OK) return s;
    char facts[96];
    snprintf(facts, sizeof facts, "%llu bytes, CRC-32 %08x, Adler-32 %08x", sum.bytes, sum.crc, sum.adler);

    /* Round 3: the model's description; the focus came back in the state. */
    size_t state_len = 0;
    const char *state = capsule_state(&state_len);
    if (state && capsule_response("description")) {
        size_t model_len = 0;
        const char *model = capsule_sampled_text("description", &model_len);
        return described(out, path, state, state_len, facts, model, model_len);
    }
    /* Round 1 (or a retry without the answer): ask the user. */
    if (!capsule_response("focus")) {
        char *message = NULL;
        size_t n = strlen(path) + 64;
        if (!(message = malloc(n))) return capsule_fail(CAPSULE_INTERNAL, "out of memory");
        snprintf(message, n, "What should the description of %s focus on?", path);
        capsule_elicit("focus", message, FOCUS_SCHEMA);
        free(message);
        return capsule_input_required(NULL, 0);
    }
    /* Round 2: the user's answer. */
    const capsule_json *chosen = capsule_elicited("focus");
    if (!chosen) {
        const char *action = capsule_elicit_action("focus");
        return capsule_text(out, "Not described (%s).", action ? action : "no answer");
    }
    size_t focus_len = 0;
    const char *focus = capsule_json_string(capsule_json_get(chosen, "focus"), &focus_len);
    if (!focus) return capsule_fail(CAPSULE_INVALID_ARGUMENTS, "the answer has no text `focus`");
    while (focus_len && isspace((unsigned char)*focus)) focus++, focus_len--;
    while (focus_len && isspace((unsigned char)focus[focus_len - 1])) focus_len--;
    if (!focus_len) focus = "everything", focus_len = strlen(focus);
    if (!capsule_client_supports(CAPSULE_CAP_SAMPLING)) return described(out, path, focus, focus_len, facts, NULL, 0);
    size_t n = strlen(path) + focus_len + strlen(facts) + 160;
    char *question = malloc(n);
    if (!question) return capsule_fail(CAPSULE_INTERNAL, "out of memory");
    snprintf(question, n,
             "Describe the file %s in two or three sentences for a reader who cares about %.*s. What is known about it: %s",
             path, (int)focus_len, focus, facts);
    capsule_sample_text("description", question, 200, NULL);
    free(question);
    return capsule_input_required(focus, focus_len);
}

static const capsule_tool tools[] = {
    {
        .name = "checksum",
        .description = "CRC-32 (as zlib, PNG, gzip) or Adler-32 (as zlib streams) of bytes given as text or base64",
        .input_schema = "{\"type\":\"object\",\"properties\":{" ALGORITHM_PROPERTY "," ENCODING_PROPERTY "," INPUT_PROPERTY "},"
                        "\"required\":[\"algorithm\",\"encoding\",\"input\"],\"additionalProperties\":false}",
        .output_schema = RESULT_SCHEMA,
        .call = tool_checksum,
        .read_only = CAPSULE_YES,
        .idempotent = CAPSULE_YES,
        .open_world = CAPSULE_NO,
    },
    {
        .name = "checksum_file",
        .description = "CRC-32 or Adler-32 of a file in the data folder, read in chunks (reports progress)",
        .input_schema = "{\"type\":\"object\",\"properties\":{" ALGORITHM_PROPERTY ","
                        "\"path\":{\"type\":\"string\",\"description\":\"The file, relative to /data\"}},"
                        "\"required\":[\"algorithm\",\"path\"],\"additionalProperties\":false}",
        .output_schema = RESULT_SCHEMA,
        .call = tool_checksum_file,
        .read_only = CAPSULE_YES,
        .idempotent = CAPSULE_YES,
        .open_world = CAPSULE_NO,
        /* A big file takes a while: a client that supports MCP tasks may get this call as a task. */
        .task_support = CAPSULE_TASK_OPTIONAL,
    },
    {
        .name = "verify",
        .description = "Whether bytes given as text or base64 have the expected CRC-32 or Adler-32",
        .input_schema = "{\"type\":\"object\",\"properties\":{" ALGORITHM_PROPERTY "," ENCODING_PROPERTY ","
                        "\"expected\":{\"type\":\"string\",\"description\":\"The expected value in hex, e.g. cbf43926\"},"
                        INPUT_PROPERTY "},"
                        "\"required\":[\"algorithm\",\"encoding\",\"expected\",\"input\"],\"additionalProperties\":false}",
        .output_schema = "{\"type\":\"object\",\"properties\":{\"match\":{\"type\":\"boolean\"},\"algorithm\":{\"type\":\"string\"},"
                         "\"hex\":{\"type\":\"string\"},\"value\":{\"type\":\"integer\"},\"bytes\":{\"type\":\"integer\"}},"
                         "\"required\":[\"match\",\"hex\"]}",
        .call = tool_verify,
        .read_only = CAPSULE_YES,
        .idempotent = CAPSULE_YES,
        .open_world = CAPSULE_NO,
    },
    {
        .name = "describe",
        .description = "Describe a file in the data folder for the user: asks them what to focus on (elicitation), then, "
                       "when the client offers sampling, has the client's model write a short description. Needs a "
                       "client that can ask its user",
        .input_schema = "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\","
                        "\"description\":\"The file, relative to /data (e.g. `check.txt`)\"}},\"required\":[\"path\"],"
                        "\"additionalProperties\":false}",
        .call = tool_describe,
        .read_only = CAPSULE_YES,
        .open_world = CAPSULE_NO,
    },
};

/* ------------------------------------------------------------------------------ resources */

/* Every regular file in /data (nothing when /data is not granted). */
static void list_files(capsule_resource_list *list) {
    DIR *dir = opendir(DATA);
    if (!dir) return;
    struct dirent *e;
    char path[4096], uri[4200];
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.') continue;
        struct stat st;
        snprintf(path, sizeof path, DATA "/%s", e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        snprintf(uri, sizeof uri, "checksum://%s", e->d_name);
        capsule_list_add(list, uri, e->d_name, "application/json", "CRC-32 and Adler-32 of the file", -1);
    }
    closedir(dir);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Completion of a file name (the template's {name}, the prompt's `name`): the files in /data
 * that start with what was typed, sorted (nothing when /data is not granted). */
static capsule_status complete_name(const char *argument, const char *value, const capsule_prompt_args *context,
                                    capsule_completion *out) {
    (void)context;
    if (strcmp(argument, "name") != 0) return CAPSULE_OK;
    DIR *dir = opendir(DATA);
    if (!dir) return CAPSULE_OK;
    struct dirent *e;
    char path[4096];
    char **names = NULL;
    size_t count = 0;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.') continue;
        struct stat st;
        snprintf(path, sizeof path, DATA "/%s", e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        char **grown = realloc(names, (count + 1) * sizeof *names);
        if (!grown) break;
        names = grown;
        size_t n = strlen(e->d_name) + 1;
        if ((names[count] = malloc(n)) != NULL) memcpy(names[count++], e->d_name, n);
    }
    closedir(dir);
    qsort(names, count, sizeof *names, by_name);
    for (size_t i = 0; i < count; i++) {
        if (names[i]) capsule_suggest_matching(out, names[i], value);
        free(names[i]);
    }
    free(names);
    return CAPSULE_OK;
}

static capsule_status read_sums(const capsule_vars *vars, const char *uri, capsule_contents *out) {
    const char *name = capsule_var(vars, "name");
    if (check_name(name) != CAPSULE_OK) return CAPSULE_INVALID_ARGUMENTS;
    char path[4096];
    snprintf(path, sizeof path, DATA "/%s", name);
    sums sum;
    capsule_status s = file_sums(path, &sum);
    if (s != CAPSULE_OK) return s;
    char hex[2][9];
    snprintf(hex[0], sizeof hex[0], "%08x", sum.crc);
    snprintf(hex[1], sizeof hex[1], "%08x", sum.adler);
    capsule_jw w = {0};
    capsule_jw_object(&w);
    capsule_jw_key(&w, "name");
    capsule_jw_string(&w, name);
    capsule_jw_key(&w, "bytes");
    capsule_jw_uint(&w, sum.bytes);
    capsule_jw_key(&w, "crc32");
    capsule_jw_string(&w, hex[0]);
    capsule_jw_key(&w, "adler32");
    capsule_jw_string(&w, hex[1]);
    capsule_jw_end(&w);
    capsule_contents_text(out, uri, w.buf, w.len, NULL);
    capsule_jw_free(&w);
    return CAPSULE_OK;
}

static const capsule_template templates[] = {
    {
        .uri_template = "checksum://{name}",
        .name = "file-checksums",
        .description = "The CRC-32 and Adler-32 of a file in /data, by file name (JSON)",
        .mime_type = "application/json",
        .read = read_sums,
        .complete = complete_name,
    },
};

/* ------------------------------------------------------------------------------ prompts */

static capsule_status prompt_verify_file(const capsule_prompt_args *args, capsule_messages *out) {
    const char *name = capsule_prompt_arg(args, "name");
    const char *published = capsule_prompt_arg(args, "published");
    if (check_name(name) != CAPSULE_OK) return CAPSULE_INVALID_ARGUMENTS;
    char path[4096];
    snprintf(path, sizeof path, DATA "/%s", name);
    sums sum;
    capsule_status s = file_sums(path, &sum);
    if (s != CAPSULE_OK) return s;
    capsule_message(out, CAPSULE_USER,
                    "I downloaded %s (%llu bytes). Its CRC-32 is %08x and its Adler-32 is %08x.\n\n"
                    "The publisher lists this checksum: %s\n\n"
                    "Does the file match? Say which algorithm the published value most likely uses, and what "
                    "to do if it does not match.",
                    name, sum.bytes, sum.crc, sum.adler, published ? published : "(none given: ask me for it)");
    return CAPSULE_OK;
}

static const capsule_prompt_argument verify_arguments[] = {
    {.name = "name", .description = "The file in /data, e.g. release.txt", .required = true, .complete = complete_name},
    {.name = "published", .description = "The checksum the publisher lists"},
};

static const capsule_prompt prompts[] = {
    {
        .name = "verify_file",
        .title = "Verify a download",
        .description = "Compare a file's checksums with the one its publisher lists",
        .arguments = verify_arguments,
        .argument_count = CAPSULE_LEN(verify_arguments),
        .render = prompt_verify_file,
    },
};

/* ------------------------------------------------------------------------------ the plugin */

static const capsule_fs_request filesystem[] = {
    {DATA, CAPSULE_READ_ONLY, "reads the files it checksums and lists them as resources"},
};

const capsule_plugin capsule_definition = {
    .name = "checksum",
    .version = "0.1.0",
    .description = "CRC-32 and Adler-32 checksums of text, bytes and files",
    .filesystem = filesystem,
    .filesystem_count = CAPSULE_LEN(filesystem),
    .tools = tools,
    .tool_count = CAPSULE_LEN(tools),
    .templates = templates,
    .template_count = CAPSULE_LEN(templates),
    .list_resources = list_files,
    .prompts = prompts,
    .prompt_count = CAPSULE_LEN(prompts),
};
