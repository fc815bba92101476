// The bytes of docs/openapi.yaml (MARQUEE_OPENAPI_YAML, its path, from host/CMakeLists.txt, which also
// lists it as OBJECT_DEPENDS so that editing the document rebuilds this file) go into .rodata between
// a begin and an end symbol with the assembler's .incbin, as host/report/report_js.cpp does.
#include "host/server/openapi_doc.h"

#include <cstdint>

asm(".pushsection .rodata,\"a\",@progbits\n"
    ".globl marquee_openapi_yaml_begin\n"
    ".hidden marquee_openapi_yaml_begin\n"
    "marquee_openapi_yaml_begin:\n"
    ".incbin \"" MARQUEE_OPENAPI_YAML "\"\n"
    ".globl marquee_openapi_yaml_end\n"
    ".hidden marquee_openapi_yaml_end\n"
    "marquee_openapi_yaml_end:\n"
    ".popsection\n");
extern "C" __attribute__((visibility("hidden"))) const char marquee_openapi_yaml_begin[];
extern "C" __attribute__((visibility("hidden"))) const char marquee_openapi_yaml_end[];

namespace marquee::server {

std::string_view openapi_yaml() {
  return std::string_view(marquee_openapi_yaml_begin, reinterpret_cast<std::uintptr_t>(marquee_openapi_yaml_end) -
                                                          reinterpret_cast<std::uintptr_t>(marquee_openapi_yaml_begin));
}

}  // namespace marquee::server
