/* capsule_json.h — a small JSON reader and writer for Capsule plugins in C.
 *
 * Reader: capsule_json_parse() builds a tree of capsule_json values (malloc'ed; free it with
 * capsule_json_free()). Strings are decoded (escapes, \uXXXX with surrogate pairs) and
 * NUL-terminated, with their byte length kept for strings that contain NUL.
 *
 * Writer: a growable buffer that adds commas and escapes strings for you:
 *
 *     capsule_jw w = {0};
 *     capsule_jw_object(&w);
 *       capsule_jw_key(&w, "crc32"); capsule_jw_string(&w, "cbf43926");
 *       capsule_jw_key(&w, "bytes"); capsule_jw_int(&w, 9);
 *     capsule_jw_end(&w);
 *     // w.buf holds {"crc32":"cbf43926","bytes":9}; capsule_jw_free(&w) when done
 *
 * Define CAPSULE_JSON_IMPLEMENTATION in exactly one C file before including this header
 * (the SDK's capsule.c does). Plain C99 plus malloc; no other dependencies.
 */
#ifndef CAPSULE_JSON_H
#define CAPSULE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CAPSULE_JSON_NULL,
    CAPSULE_JSON_BOOL,
    CAPSULE_JSON_NUMBER,
    CAPSULE_JSON_STRING,
    CAPSULE_JSON_ARRAY,
    CAPSULE_JSON_OBJECT,
} capsule_json_type;

typedef struct capsule_json {
    capsule_json_type type;
    bool boolean;                /* CAPSULE_JSON_BOOL */
    double number;               /* CAPSULE_JSON_NUMBER */
    char *string;                /* CAPSULE_JSON_STRING: decoded, NUL-terminated */
    size_t length;               /* string: bytes; array/object: number of items */
    struct capsule_json *items;  /* array items, object values */
    char **keys;                 /* object keys (decoded, NUL-terminated) */
} capsule_json;

/* Parse `len` bytes of JSON text. Returns NULL on error and writes a message ("expected ':' at
 * offset 12") into `err` (if not NULL). Nesting deeper than 128 levels is an error. */
capsule_json *capsule_json_parse(const char *text, size_t len, char *err, size_t err_size);
void capsule_json_free(capsule_json *value);

/* Member `key` of an object, or NULL (also when `object` is not an object). A member whose value
 * is null is returned as a CAPSULE_JSON_NULL value; the typed accessors below answer NULL / false
 * for it, as for a missing member. (For tool arguments, capsule_arg() in capsule.h treats null as
 * absent.) */
const capsule_json *capsule_json_get(const capsule_json *object, const char *key);
/* Item `index` of an array, or NULL. */
const capsule_json *capsule_json_at(const capsule_json *array, size_t index);
/* The string (and its length) if `value` is a string, else NULL. */
const char *capsule_json_string(const capsule_json *value, size_t *len);
/* Whether `value` is a number; stores it in `out`. */
bool capsule_json_number(const capsule_json *value, double *out);
/* Whether `value` is a boolean; stores it in `out`. */
bool capsule_json_bool(const capsule_json *value, bool *out);

/* ---------------------------------------------------------------------------------- writer */

#define CAPSULE_JW_MAX_DEPTH 64

typedef struct {
    char *buf;   /* the JSON text so far, NUL-terminated (NULL until something is written) */
    size_t len;
    size_t cap;
    int depth;
    bool first[CAPSULE_JW_MAX_DEPTH]; /* nothing written yet at this depth */
    char close[CAPSULE_JW_MAX_DEPTH]; /* '}' or ']' */
    bool after_key;
    bool failed; /* out of memory or nesting too deep: the text is unusable */
} capsule_jw;

void capsule_jw_object(capsule_jw *w);
void capsule_jw_array(capsule_jw *w);
void capsule_jw_end(capsule_jw *w); /* closes the innermost object or array */
void capsule_jw_key(capsule_jw *w, const char *key);
void capsule_jw_string(capsule_jw *w, const char *s);
void capsule_jw_string_n(capsule_jw *w, const char *s, size_t len);
void capsule_jw_int(capsule_jw *w, long long n);
void capsule_jw_uint(capsule_jw *w, unsigned long long n);
void capsule_jw_number(capsule_jw *w, double x); /* non-finite numbers are written as null */
void capsule_jw_bool(capsule_jw *w, bool b);
void capsule_jw_null(capsule_jw *w);
void capsule_jw_raw(capsule_jw *w, const char *json); /* an already-serialized value */
void capsule_jw_free(capsule_jw *w);

#ifdef __cplusplus
}
#endif

/* ========================================================================= implementation */
#ifdef CAPSULE_JSON_IMPLEMENTATION

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p;
    const char *start;
    const char *end;
    char *err;
    size_t err_size;
    int depth;
} capsule_json__parser;

static bool capsule_json__fail(capsule_json__parser *ps, const char *what) {
    if (ps->err && ps->err_size) {
        snprintf(ps->err, ps->err_size, "%s at offset %zu", what, (size_t)(ps->p - ps->start));
    }
    return false;
}

static void capsule_json__ws(capsule_json__parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

static bool capsule_json__value(capsule_json__parser *ps, capsule_json *out);

static int capsule_json__hex4(const char *p) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    return v;
}

static size_t capsule_json__utf8(char *out, uint32_t cp) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xc0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 63)); out[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 63));
    out[2] = (char)(0x80 | ((cp >> 6) & 63)); out[3] = (char)(0x80 | (cp & 63));
    return 4;
}

/* Parses a string literal at ps->p (the opening quote); the decoded text is never longer. */
static bool capsule_json__string(capsule_json__parser *ps, char **out, size_t *out_len) {
    const char *p = ps->p + 1;
    char *buf = malloc((size_t)(ps->end - p) + 1);
    size_t n = 0;
    if (!buf) return capsule_json__fail(ps, "out of memory");
    while (p < ps->end && *p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20) { ps->p = p; free(buf); return capsule_json__fail(ps, "control character in string"); }
        if (c != '\\') { buf[n++] = (char)c; p++; continue; }
        if (p + 1 >= ps->end) break;
        char e = p[1];
        p += 2;
        switch (e) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            int hi = p + 4 <= ps->end ? capsule_json__hex4(p) : -1;
            if (hi < 0) { ps->p = p; free(buf); return capsule_json__fail(ps, "bad \\u escape"); }
            p += 4;
            uint32_t cp = (uint32_t)hi;
            if (hi >= 0xd800 && hi <= 0xdbff) {
                int lo = (p + 6 <= ps->end && p[0] == '\\' && p[1] == 'u') ? capsule_json__hex4(p + 2) : -1;
                if (lo < 0xdc00 || lo > 0xdfff) { ps->p = p; free(buf); return capsule_json__fail(ps, "unpaired surrogate"); }
                cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
                p += 6;
            } else if (hi >= 0xdc00 && hi <= 0xdfff) {
                ps->p = p; free(buf); return capsule_json__fail(ps, "unpaired surrogate");
            }
            n += capsule_json__utf8(buf + n, cp);
            break;
        }
        default:
            ps->p = p - 1; free(buf); return capsule_json__fail(ps, "bad escape");
        }
    }
    if (p >= ps->end) { ps->p = p; free(buf); return capsule_json__fail(ps, "unterminated string"); }
    buf[n] = '\0';
    ps->p = p + 1;
    *out = buf;
    *out_len = n;
    return true;
}

static bool capsule_json__number(capsule_json__parser *ps, capsule_json *out) {
    const char *p = ps->p;
    if (p < ps->end && *p == '-') p++;
    if (p >= ps->end) return capsule_json__fail(ps, "bad number");
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (p < ps->end && *p >= '0' && *p <= '9') p++;
    else return capsule_json__fail(ps, "bad number");
    if (p < ps->end && *p == '.') {
        p++;
        if (p >= ps->end || *p < '0' || *p > '9') { ps->p = p; return capsule_json__fail(ps, "bad number"); }
        while (p < ps->end && *p >= '0' && *p <= '9') p++;
    }
    if (p < ps->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < ps->end && (*p == '+' || *p == '-')) p++;
        if (p >= ps->end || *p < '0' || *p > '9') { ps->p = p; return capsule_json__fail(ps, "bad number"); }
        while (p < ps->end && *p >= '0' && *p <= '9') p++;
    }
    char tmp[64];
    size_t n = (size_t)(p - ps->p);
    if (n >= sizeof tmp) { /* long numbers: copy to the heap */
        char *big = malloc(n + 1);
        if (!big) return capsule_json__fail(ps, "out of memory");
        memcpy(big, ps->p, n); big[n] = '\0';
        out->number = strtod(big, NULL);
        free(big);
    } else {
        memcpy(tmp, ps->p, n); tmp[n] = '\0';
        out->number = strtod(tmp, NULL);
    }
    out->type = CAPSULE_JSON_NUMBER;
    ps->p = p;
    return true;
}

static bool capsule_json__literal(capsule_json__parser *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return capsule_json__fail(ps, "unexpected character");
    ps->p += n;
    return true;
}

static bool capsule_json__push(capsule_json *container, size_t *cap, bool with_keys) {
    if (container->length < *cap) return true;
    size_t next = *cap ? *cap * 2 : 4;
    capsule_json *items = realloc(container->items, next * sizeof *items);
    if (!items) return false;
    container->items = items;
    if (with_keys) {
        char **keys = realloc(container->keys, next * sizeof *keys);
        if (!keys) return false;
        container->keys = keys;
    }
    *cap = next;
    return true;
}

static bool capsule_json__value(capsule_json__parser *ps, capsule_json *out) {
    memset(out, 0, sizeof *out);
    capsule_json__ws(ps);
    if (ps->p >= ps->end) return capsule_json__fail(ps, "unexpected end");
    switch (*ps->p) {
    case 'n': out->type = CAPSULE_JSON_NULL; return capsule_json__literal(ps, "null");
    case 't': out->type = CAPSULE_JSON_BOOL; out->boolean = true; return capsule_json__literal(ps, "true");
    case 'f': out->type = CAPSULE_JSON_BOOL; out->boolean = false; return capsule_json__literal(ps, "false");
    case '"':
        out->type = CAPSULE_JSON_STRING;
        return capsule_json__string(ps, &out->string, &out->length);
    case '[':
    case '{': {
        bool object = *ps->p == '{';
        char close = object ? '}' : ']';
        size_t cap = 0;
        if (++ps->depth > 128) return capsule_json__fail(ps, "nested too deeply");
        out->type = object ? CAPSULE_JSON_OBJECT : CAPSULE_JSON_ARRAY;
        ps->p++;
        capsule_json__ws(ps);
        if (ps->p < ps->end && *ps->p == close) { ps->p++; ps->depth--; return true; }
        for (;;) {
            if (!capsule_json__push(out, &cap, object)) return capsule_json__fail(ps, "out of memory");
            if (object) {
                capsule_json__ws(ps);
                size_t klen;
                if (ps->p >= ps->end || *ps->p != '"') return capsule_json__fail(ps, "expected a string key");
                if (!capsule_json__string(ps, &out->keys[out->length], &klen)) return false;
                capsule_json__ws(ps);
                if (ps->p >= ps->end || *ps->p != ':') {
                    free(out->keys[out->length]);
                    return capsule_json__fail(ps, "expected ':'");
                }
                ps->p++;
            }
            if (!capsule_json__value(ps, &out->items[out->length])) {
                if (object) free(out->keys[out->length]);
                capsule_json_free(&out->items[out->length]); /* frees children only: see below */
                return false;
            }
            out->length++;
            capsule_json__ws(ps);
            if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
            if (ps->p < ps->end && *ps->p == close) { ps->p++; ps->depth--; return true; }
            return capsule_json__fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) return capsule_json__number(ps, out);
        return capsule_json__fail(ps, "unexpected character");
    }
}

static void capsule_json__release(capsule_json *v) {
    if (v->type == CAPSULE_JSON_STRING) free(v->string);
    if (v->type == CAPSULE_JSON_ARRAY || v->type == CAPSULE_JSON_OBJECT) {
        for (size_t i = 0; i < v->length; i++) {
            capsule_json__release(&v->items[i]);
            if (v->keys) free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
    }
    memset(v, 0, sizeof *v);
}

capsule_json *capsule_json_parse(const char *text, size_t len, char *err, size_t err_size) {
    capsule_json__parser ps = {text, text, text + len, err, err_size, 0};
    capsule_json *root = calloc(1, sizeof *root);
    if (!root) return NULL;
    if (!capsule_json__value(&ps, root)) {
        capsule_json__release(root);
        free(root);
        return NULL;
    }
    capsule_json__ws(&ps);
    if (ps.p != ps.end) {
        capsule_json__fail(&ps, "trailing characters");
        capsule_json__release(root);
        free(root);
        return NULL;
    }
    return root;
}

/* For a root from capsule_json_parse: frees the whole tree. (Used on a partly built child, it
 * frees that child's contents; the parser relies on this.) */
void capsule_json_free(capsule_json *value) {
    if (!value) return;
    capsule_json__release(value);
}

const capsule_json *capsule_json_get(const capsule_json *object, const char *key) {
    if (!object || object->type != CAPSULE_JSON_OBJECT) return NULL;
    for (size_t i = object->length; i-- > 0;) { /* the last duplicate wins, as in most parsers */
        if (strcmp(object->keys[i], key) == 0) return &object->items[i];
    }
    return NULL;
}

const capsule_json *capsule_json_at(const capsule_json *array, size_t index) {
    if (!array || array->type != CAPSULE_JSON_ARRAY || index >= array->length) return NULL;
    return &array->items[index];
}

const char *capsule_json_string(const capsule_json *value, size_t *len) {
    if (!value || value->type != CAPSULE_JSON_STRING) return NULL;
    if (len) *len = value->length;
    return value->string;
}

bool capsule_json_number(const capsule_json *value, double *out) {
    if (!value || value->type != CAPSULE_JSON_NUMBER) return false;
    if (out) *out = value->number;
    return true;
}

bool capsule_json_bool(const capsule_json *value, bool *out) {
    if (!value || value->type != CAPSULE_JSON_BOOL) return false;
    if (out) *out = value->boolean;
    return true;
}

/* ---------------------------------------------------------------------------------- writer */

static void capsule_jw__put(capsule_jw *w, const char *s, size_t n) {
    if (w->failed) return;
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (w->len + n + 1 > cap) cap *= 2;
        char *buf = realloc(w->buf, cap);
        if (!buf) { w->failed = true; return; }
        w->buf = buf;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

/* Before a value: a comma unless it is the first item or follows a key. */
static void capsule_jw__sep(capsule_jw *w) {
    if (w->after_key) { w->after_key = false; return; }
    if (w->depth > 0) {
        if (!w->first[w->depth - 1]) capsule_jw__put(w, ",", 1);
        w->first[w->depth - 1] = false;
    }
}

static void capsule_jw__open(capsule_jw *w, char c) {
    capsule_jw__sep(w);
    if (w->depth >= CAPSULE_JW_MAX_DEPTH) { w->failed = true; return; }
    capsule_jw__put(w, &c, 1);
    w->close[w->depth] = c == '{' ? '}' : ']';
    w->first[w->depth++] = true;
}

void capsule_jw_object(capsule_jw *w) { capsule_jw__open(w, '{'); }
void capsule_jw_array(capsule_jw *w) { capsule_jw__open(w, '['); }

void capsule_jw_end(capsule_jw *w) {
    if (w->depth == 0) { w->failed = true; return; }
    w->depth--;
    capsule_jw__put(w, &w->close[w->depth], 1);
}

void capsule_jw_key(capsule_jw *w, const char *key) {
    capsule_jw_string(w, key);
    capsule_jw__put(w, ":", 1);
    w->after_key = true;
}

void capsule_jw_string_n(capsule_jw *w, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    capsule_jw__sep(w);
    capsule_jw__put(w, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (c < 0x20) {
                u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0'; u[4] = hex[c >> 4]; u[5] = hex[c & 15];
                capsule_jw__put(w, s + i - run, run);
                run = 0;
                capsule_jw__put(w, u, 6);
                continue;
            }
            run++;
            continue;
        }
        capsule_jw__put(w, s + i - run, run);
        run = 0;
        capsule_jw__put(w, esc, strlen(esc));
    }
    capsule_jw__put(w, s + len - run, run);
    capsule_jw__put(w, "\"", 1);
}

void capsule_jw_string(capsule_jw *w, const char *s) { capsule_jw_string_n(w, s ? s : "", s ? strlen(s) : 0); }

void capsule_jw_int(capsule_jw *w, long long n) {
    char tmp[32];
    int k = snprintf(tmp, sizeof tmp, "%lld", n);
    capsule_jw__sep(w);
    capsule_jw__put(w, tmp, (size_t)k);
}

void capsule_jw_uint(capsule_jw *w, unsigned long long n) {
    char tmp[32];
    int k = snprintf(tmp, sizeof tmp, "%llu", n);
    capsule_jw__sep(w);
    capsule_jw__put(w, tmp, (size_t)k);
}

void capsule_jw_number(capsule_jw *w, double x) {
    if (!isfinite(x)) { capsule_jw_null(w); return; }
    char tmp[32];
    int k = snprintf(tmp, sizeof tmp, "%.17g", x);
    capsule_jw__sep(w);
    capsule_jw__put(w, tmp, (size_t)k);
}

void capsule_jw_bool(capsule_jw *w, bool b) {
    capsule_jw__sep(w);
    capsule_jw__put(w, b ? "true" : "false", b ? 4 : 5);
}

void capsule_jw_null(capsule_jw *w) {
    capsule_jw__sep(w);
    capsule_jw__put(w, "null", 4);
}

void capsule_jw_raw(capsule_jw *w, const char *json) {
    capsule_jw__sep(w);
    capsule_jw__put(w, json, strlen(json));
}

void capsule_jw_free(capsule_jw *w) {
    free(w->buf);
    memset(w, 0, sizeof *w);
}

#endif /* CAPSULE_JSON_IMPLEMENTATION */
#endif /* CAPSULE_JSON_H */
