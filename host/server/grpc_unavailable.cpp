// The gRPC transport's stand-in when the build has no gRPC (MARQUEE_WITH_GRPC=OFF or the packages
// absent): `serve --grpc-port` fails saying so.
#include "host/server/grpc_server.h"

#include "engine/error.h"

namespace marquee::server {

struct GrpcServer::Impl {};

bool grpc_available() { return false; }

GrpcServer::GrpcServer(ServingEngine&, const HttpOptions&, GrpcOptions) {
  MARQUEE_THROW_AS(::marquee::ArgumentError, "--grpc-port: this build lacks gRPC (install libgrpc++-dev protobuf-compiler-grpc, "
                    "e.g. scripts/setup.sh, and rebuild with -DMARQUEE_WITH_GRPC=ON)");
}
GrpcServer::~GrpcServer() = default;
int GrpcServer::start() { return -1; }
void GrpcServer::set_draining() {}
void GrpcServer::stop() {}

}  // namespace marquee::server
