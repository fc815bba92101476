// docs/openapi.yaml, embedded into the binary at build time (GET /openapi.yaml): the document served
// is always the one of the build, with no file looked up at run time.
#pragma once

#include <string_view>

namespace marquee::server {

std::string_view openapi_yaml();

}  // namespace marquee::server
