// Request and response of a unary callback method on one protobuf arena per call.
//
//   ArenaMessageAllocator<v1::CheckRequest, v1::CheckResponse> allocator;   // outlives the server
//   service.SetMessageAllocatorFor_Check(&allocator);                       // before BuildAndStart
//
// Without it gRPC allocates the request and the response on the heap, and every string and
// repeated field of both with its own malloc, freed one by one when the call ends. With it the
// call takes one heap block (this holder, which embeds the arena's first block), parsing and
// answering fill that block, and the call's end frees it at once; a message larger than the
// first block makes the arena take more blocks, freed with it.
//
// Thread safety: AllocateMessages may be called from any thread (it only allocates).
#ifndef FLEETPDP_SERVER_ARENA_MESSAGES_H_
#define FLEETPDP_SERVER_ARENA_MESSAGES_H_

#include <google/protobuf/arena.h>
#include <grpcpp/support/message_allocator.h>

#include <cstddef>

namespace fleetpdp::server {

// `kFirstBlockBytes`: the part of each call's arena that comes with the holder; a typical MQTT
// check and its answer fit in 1 KiB.
template <typename Request, typename Response, size_t kFirstBlockBytes = 1024>
class ArenaMessageAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder(); }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(FirstBlock(first_block_)) {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }

   private:
    static google::protobuf::ArenaOptions FirstBlock(char* block) {
      google::protobuf::ArenaOptions options;
      options.initial_block = block;
      options.initial_block_size = kFirstBlockBytes;
      return options;
    }

    alignas(alignof(std::max_align_t)) char first_block_[kFirstBlockBytes];
    google::protobuf::Arena arena_;  // declared after first_block_, which it uses
  };
};

}  // namespace fleetpdp::server

#endif  // FLEETPDP_SERVER_ARENA_MESSAGES_H_
