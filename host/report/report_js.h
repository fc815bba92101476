// The report's JavaScript — the minified builds of vega, vega-lite and vega-embed, in that order —
// embedded into the binary at build time (report_js.cpp), so that an installed or moved `marquee`
// writes reports without the source tree.
#pragma once

#include <string_view>
#include <vector>

namespace marquee {

/// The three libraries' bytes, verbatim; empty when the build found no host/report/js/node_modules
/// at configure time (then only $MARQUEE_REPORT_JS_DIR can supply them).
std::vector<std::string_view> embedded_report_js();

}  // namespace marquee
