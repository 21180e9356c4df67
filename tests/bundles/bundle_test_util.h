// Helpers shared by the bundles tests: a per-test temporary directory and writing a bundle's files
// into a directory tree.
#ifndef FLEETPDP_TESTS_BUNDLES_BUNDLE_TEST_UTIL_H_
#define FLEETPDP_TESTS_BUNDLES_BUNDLE_TEST_UTIL_H_

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "bundles/bundle_files.h"
#include "gtest/gtest.h"

namespace fleetpdp::bundles::testing {

// A fresh directory named after the running test, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("fleetpdp-" + std::string(info->test_suite_name()) + "-" + std::to_string(::getpid()) +
             "-" + info->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  // A path inside the directory, as a string (for shell commands).
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void WriteTree(const std::filesystem::path& root, const BundleFiles& files) {
  for (const auto& [path, content] : files) {
    std::filesystem::create_directories((root / path).parent_path());
    std::ofstream(root / path, std::ios::binary) << content;
  }
}

}  // namespace fleetpdp::bundles::testing

#endif  // FLEETPDP_TESTS_BUNDLES_BUNDLE_TEST_UTIL_H_
