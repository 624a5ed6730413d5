/* openapi_doc.c - the OpenAPI document, embedded in the binary at build
 * time (served at GET /api/v1/openapi.json; no file to find at run time).
 *
 * The Makefile merges the parts in api/openapi/ into BUILD/api/openapi.json and
 * names it in OPENAPI_JSON; the assembler's .incbin copies it into
 * .rodata (the path is relative to the directory make runs in, the
 * repository root), and this object depends on it. A NUL follows the
 * document so it is also a C string. */
#include "api_int.h"

__asm__(".section .rodata\n"
        ".globl td_openapi_json\n"
        ".hidden td_openapi_json\n"
        ".globl td_openapi_json_end\n"
        ".hidden td_openapi_json_end\n"
        "td_openapi_json:\n"
        ".incbin \"" OPENAPI_JSON "\"\n"
        "td_openapi_json_end:\n"
        ".byte 0\n"
        ".previous\n");

extern const char td_openapi_json[] __attribute__((visibility("hidden")));
extern const char td_openapi_json_end[] __attribute__((visibility("hidden")));

const char *openapi_doc(size_t *len)
{
    *len = (size_t)(td_openapi_json_end - td_openapi_json);
    return td_openapi_json;
}
