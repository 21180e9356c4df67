// ThreadSanitizer annotations for Debian's uninstrumented Abseil synchronization primitives.
//
// Debian's libabsl_synchronization is built without -fsanitize=thread, so TSan cannot see that
// absl::Mutex, absl::CondVar and absl::Notification order memory accesses: every access the
// project guards with an absl::Mutex would be reported as a race. An instrumented Abseil emits
// __tsan_acquire/__tsan_release itself (ABSL_TSAN_MUTEX_* annotations); this file adds the same
// happens-before edges from outside. tools/test-tsan.sh builds it as a shared object and
// LD_PRELOADs it into the TSan test binaries: each exported entry point below interposes the
// library's function of the same (mangled) name, calls the real one (dlsym RTLD_NEXT) and tells
// TSan what it did — lock: acquire on the mutex; unlock: release; a condition-variable wait:
// release then acquire; Notify: release on the notification; a successful wait: acquire.
//
// Not part of any product binary; only test-tsan.sh uses it.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

// Weak: a process without the TSan runtime (ctest, a shell) may inherit LD_PRELOAD harmlessly.
extern "C" void __tsan_acquire(void* addr) __attribute__((weak));
extern "C" void __tsan_release(void* addr) __attribute__((weak));

namespace {

template <typename Fn>
Fn Real(const char* symbol) {
  void* fn = dlsym(RTLD_NEXT, symbol);
  if (fn == nullptr) {
    std::fprintf(stderr, "absl_sync_annotations: %s not found: %s\n", symbol, dlerror());
    std::abort();
  }
  return reinterpret_cast<Fn>(fn);
}

// Arguments the interposed functions pass through untouched (Condition&, Duration, Time,
// KernelTimeout are passed as in the real signatures; only their size and class matter).
struct Opaque16 {
  long a, b;
};

void Acquire(const void* addr) {
  if (__tsan_acquire != nullptr) __tsan_acquire(const_cast<void*>(addr));
}
void Release(const void* addr) {
  if (__tsan_release != nullptr) __tsan_release(const_cast<void*>(addr));
}

}  // namespace

#define REAL(type, name) static const auto real = Real<type>(name)

extern "C" {

// absl::debian3::Mutex::Lock() and the other members, by mangled name. Members are called with
// `this` as the first argument.
void _ZN4absl7debian35Mutex4LockEv(void* mu) {
  REAL(void (*)(void*), "_ZN4absl7debian35Mutex4LockEv");
  real(mu);
  Acquire(mu);
}
void _ZN4absl7debian35Mutex10ReaderLockEv(void* mu) {
  REAL(void (*)(void*), "_ZN4absl7debian35Mutex10ReaderLockEv");
  real(mu);
  Acquire(mu);
}
bool _ZN4absl7debian35Mutex7TryLockEv(void* mu) {
  REAL(bool (*)(void*), "_ZN4absl7debian35Mutex7TryLockEv");
  const bool locked = real(mu);
  if (locked) Acquire(mu);
  return locked;
}
bool _ZN4absl7debian35Mutex13ReaderTryLockEv(void* mu) {
  REAL(bool (*)(void*), "_ZN4absl7debian35Mutex13ReaderTryLockEv");
  const bool locked = real(mu);
  if (locked) Acquire(mu);
  return locked;
}
void _ZN4absl7debian35Mutex6UnlockEv(void* mu) {
  REAL(void (*)(void*), "_ZN4absl7debian35Mutex6UnlockEv");
  Release(mu);
  real(mu);
}
void _ZN4absl7debian35Mutex12ReaderUnlockEv(void* mu) {
  REAL(void (*)(void*), "_ZN4absl7debian35Mutex12ReaderUnlockEv");
  Release(mu);
  real(mu);
}
// Mutex::LockWhen(const Condition&) / ReaderLockWhen / Await(const Condition&).
void _ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE(void* mu, const void* cond) {
  REAL(void (*)(void*, const void*), "_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE");
  real(mu, cond);
  Acquire(mu);
}
void _ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE(void* mu, const void* cond) {
  REAL(void (*)(void*, const void*), "_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE");
  real(mu, cond);
  Acquire(mu);
}
void _ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(void* mu, const void* cond) {
  REAL(void (*)(void*, const void*), "_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE");
  Release(mu);
  real(mu, cond);
  Acquire(mu);
}
// Mutex::AwaitWithTimeout(const Condition&, Duration) and LockWhenWithTimeout: Duration is a
// 16-byte trivially copyable class, passed in two registers.
bool _ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE(void* mu,
                                                                              const void* cond,
                                                                              Opaque16 timeout) {
  REAL(bool (*)(void*, const void*, Opaque16),
       "_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  Release(mu);
  const bool result = real(mu, cond, timeout);
  Acquire(mu);
  return result;
}
bool _ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(void* mu,
                                                                                 const void* cond,
                                                                                 Opaque16 timeout) {
  REAL(bool (*)(void*, const void*, Opaque16),
       "_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  const bool result = real(mu, cond, timeout);
  Acquire(mu);
  return result;
}

// CondVar::Wait(Mutex*) and WaitWithTimeout(Mutex*, Duration): the mutex is released while
// waiting and held again on return.
void _ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(void* cv, void* mu) {
  REAL(void (*)(void*, void*), "_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE");
  Release(mu);
  real(cv, mu);
  Acquire(mu);
}
bool _ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE(void* cv, void* mu,
                                                                          Opaque16 timeout) {
  REAL(bool (*)(void*, void*, Opaque16),
       "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  Release(mu);
  const bool result = real(cv, mu, timeout);
  Acquire(mu);
  return result;
}

// Notification::Notify() happens before a WaitForNotification*() that returns notified.
void _ZN4absl7debian312Notification6NotifyEv(void* n) {
  REAL(void (*)(void*), "_ZN4absl7debian312Notification6NotifyEv");
  Release(n);
  real(n);
}
void _ZNK4absl7debian312Notification19WaitForNotificationEv(const void* n) {
  REAL(void (*)(const void*), "_ZNK4absl7debian312Notification19WaitForNotificationEv");
  real(n);
  Acquire(n);
}
bool _ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(
    const void* n, Opaque16 timeout) {
  REAL(bool (*)(const void*, Opaque16),
       "_ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  const bool notified = real(n, timeout);
  if (notified) Acquire(n);
  return notified;
}

}  // extern "C"
