// protoc's messages and grpc_cpp_plugin's service for host/server/proto/marquee.proto, generated at
// build time into the build folder's generated/ (host/CMakeLists.txt) and compiled here as one
// translation unit.
#include "host/server/proto/marquee.pb.cc"
#include "host/server/proto/marquee.grpc.pb.cc"
