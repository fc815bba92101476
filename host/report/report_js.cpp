// Embeds the report's JavaScript with the assembler's .incbin: host/CMakeLists.txt defines
// MARQUEE_REPORT_JS_EMBED_DIR (the node_modules folder of host/report/js) when the three files were
// there at configure time, and lists them as OBJECT_DEPENDS so that a new `npm ci` rebuilds this
// file. The bytes go into .rodata between a begin and an end symbol (hidden: local to the binary).
#include "host/report/report_js.h"

#include <cstdint>

#ifdef MARQUEE_REPORT_JS_EMBED_DIR

#define MARQUEE_INCBIN(name, file)                                                   \
  asm(".pushsection .rodata,\"a\",@progbits\n"                                       \
      ".globl marquee_report_js_" #name "_begin\n"                                   \
      ".hidden marquee_report_js_" #name "_begin\n"                                  \
      "marquee_report_js_" #name "_begin:\n"                                         \
      ".incbin \"" MARQUEE_REPORT_JS_EMBED_DIR "/" file "\"\n"                       \
      ".globl marquee_report_js_" #name "_end\n"                                     \
      ".hidden marquee_report_js_" #name "_end\n"                                    \
      "marquee_report_js_" #name "_end:\n"                                           \
      ".popsection\n");                                                              \
  extern "C" __attribute__((visibility("hidden"))) const char marquee_report_js_##name##_begin[]; \
  extern "C" __attribute__((visibility("hidden"))) const char marquee_report_js_##name##_end[];

MARQUEE_INCBIN(vega, "vega/build/vega.min.js")
MARQUEE_INCBIN(vega_lite, "vega-lite/build/vega-lite.min.js")
MARQUEE_INCBIN(vega_embed, "vega-embed/build/vega-embed.min.js")

#define MARQUEE_EMBEDDED(name)                                        \
  std::string_view(marquee_report_js_##name##_begin,                  \
                   reinterpret_cast<std::uintptr_t>(marquee_report_js_##name##_end) - \
                       reinterpret_cast<std::uintptr_t>(marquee_report_js_##name##_begin))

namespace marquee {
std::vector<std::string_view> embedded_report_js() {
  return {MARQUEE_EMBEDDED(vega), MARQUEE_EMBEDDED(vega_lite), MARQUEE_EMBEDDED(vega_embed)};
}
}  // namespace marquee

#else

namespace marquee {
std::vector<std::string_view> embedded_report_js() { return {}; }
}  // namespace marquee

#endif
