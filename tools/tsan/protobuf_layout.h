// Force-included into every C++ file of the `tsan` preset (CMakePresets.json, `-include`).
//
// Debian's libprotobuf is built without ThreadSanitizer, and protobuf 3.21's map_field.h gives
// MapFieldBase two extra members (seq1_, seq2_, ahead of arena_) when __SANITIZE_THREAD__ is
// defined. Code compiled with -fsanitize=thread then disagrees with the library on where every
// member of a map field lies: the library's MapFieldBase::Destruct read the arena pointer from
// the counters, took the map for a heap one and deleted the arena as a repeated field — a SEGV
// in Principal::ArenaDtor in about half of the runs of ClientCancellingAStreamEndsIt.
//
// Reading map_field.h (and the protobuf headers it pulls in) once with the macro hidden gives
// them the layout the library was built with; their include guards keep it for every later
// include. libstdc++'s configuration is read first, so that it still knows TSan is on
// (_GLIBCXX_TSAN: std::shared_ptr's reference counting stays visible to TSan).
#ifndef FLEETPDP_TOOLS_TSAN_PROTOBUF_LAYOUT_H_
#define FLEETPDP_TOOLS_TSAN_PROTOBUF_LAYOUT_H_

#include <cstddef>

#pragma push_macro("__SANITIZE_THREAD__")
#undef __SANITIZE_THREAD__
#include <google/protobuf/map_field.h>
#pragma pop_macro("__SANITIZE_THREAD__")

#endif  // FLEETPDP_TOOLS_TSAN_PROTOBUF_LAYOUT_H_
