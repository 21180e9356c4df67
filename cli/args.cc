#include "cli/args.h"

#include "absl/strings/str_cat.h"
#include "engine/absl_compat.h"

namespace fleetpdp::cli {

Args::Args(int argc, char** argv) {
  bool only_positional = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (only_positional || a.size() < 2 || a[0] != '-') {
      items_.push_back(Item{"", std::string(a), true, false});
      continue;
    }
    if (a == "--") {
      only_positional = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      help_ = true;
      continue;
    }
    Item item;
    size_t eq = a.find('=');
    if (eq != std::string_view::npos) {
      item.name = std::string(a.substr(0, eq));
      item.value = std::string(a.substr(eq + 1));
      item.has_value = true;
    } else {
      item.name = std::string(a);
      // The next argument is the value unless it is itself a flag; Take() decides whether the
      // flag wanted one (a switch leaves it to be read as a positional argument).
      if (i + 1 < argc && (argv[i + 1][0] != '-' || argv[i + 1][1] == '\0')) {
        item.value = argv[i + 1];
        item.has_value = true;
        ++i;
      }
    }
    items_.push_back(std::move(item));
  }
}

std::optional<std::string> Args::Take(std::string_view name) {
  std::optional<std::string> value;
  for (Item& item : items_) {
    if (item.name != name) continue;
    item.taken = true;
    value = item.value;
    if (!item.has_value) value.reset();
  }
  return value;
}

std::vector<std::string> Args::TakeAll(std::string_view name) {
  std::vector<std::string> values;
  for (Item& item : items_) {
    if (item.name != name || !item.has_value) continue;
    item.taken = true;
    values.push_back(item.value);
  }
  return values;
}

bool Args::TakeSwitch(std::string_view name) {
  bool found = false;
  for (size_t i = 0; i < items_.size(); ++i) {
    Item& item = items_[i];
    if (item.name != name) continue;
    found = true;
    item.taken = true;
    if (item.has_value) {
      // "--explain foo": the value was a positional argument after all. (Insert last: it
      // invalidates `item`.)
      std::string value = std::move(item.value);
      item.has_value = false;
      item.value.clear();
      items_.insert(items_.begin() + i + 1, Item{"", std::move(value), true, false});
    }
  }
  return found;
}

std::vector<std::string> Args::TakePositional() {
  std::vector<std::string> out;
  for (Item& item : items_) {
    if (!item.name.empty()) continue;
    item.taken = true;
    out.push_back(item.value);
  }
  return out;
}

absl::Status Args::Finish() const {
  for (const Item& item : items_) {
    if (item.taken) {
      continue;
    }
    if (item.name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", item.value, "\""));
    }
    return absl::InvalidArgumentError(absl::StrCat("unknown flag \"", item.name, "\""));
  }
  return absl::OkStatus();
}

absl::Status SplitKeyValue(std::string_view flag, std::string_view text, std::string& key,
                           std::string& value) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(Absl(flag), " \"", Absl(text), "\": expected key=value"));
  }
  key = std::string(text.substr(0, eq));
  value = std::string(text.substr(eq + 1));
  return absl::OkStatus();
}

}  // namespace fleetpdp::cli
