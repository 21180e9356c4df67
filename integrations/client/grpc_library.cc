#include "integrations/client/grpc_library.h"

#include <grpc/grpc.h>

#include <thread>

namespace fleetpdp::client {

GrpcLibraryScope::GrpcLibraryScope(std::chrono::milliseconds wait) : wait_(wait) { grpc_init(); }

GrpcLibraryScope::~GrpcLibraryScope() { Release(); }

bool GrpcLibraryScope::Release() {
  if (!held_) return true;
  held_ = false;
  grpc_shutdown();
  const auto deadline = std::chrono::steady_clock::now() + wait_;
  while (grpc_is_initialized() != 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace fleetpdp::client
