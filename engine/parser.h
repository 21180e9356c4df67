// Parses policy, entity and policy-test documents (YAML or JSON) into the model.
//
//   ParsedSources parsed;
//   ValidationReport report = ParseSources({{"policies/cams.yaml", text}}, parsed);
//   if (!report.ok()) std::cerr << report.ToString();
//
// Every problem is reported with file:line:column, and parsing goes on after a problem so that one
// run reports them all: syntax errors, unknown keys, wrong types, bad patterns and condition
// values, then the cross-document checks of validate.h. A file may hold several documents
// separated by "---". Thread safety: pure functions.
#ifndef FLEETPDP_ENGINE_PARSER_H_
#define FLEETPDP_ENGINE_PARSER_H_

#include <string>
#include <vector>

#include "absl/types/span.h"
#include "engine/diagnostics.h"
#include "engine/policy.h"
#include "engine/policy_tests.h"

namespace fleetpdp::engine {

struct SourceFile {
  std::string path;  // as reported in errors, e.g. "policies/cameras.yaml"
  std::string text;
};

struct ParsedSources {
  PolicySet set;
  std::vector<TestCase> tests;
};

// Parses every file and then validates the whole set (Validate in validate.h). `out` holds what
// could be parsed even when the report has errors.
ValidationReport ParseSources(absl::Span<const SourceFile> files, ParsedSources& out);

// How ParseFile builds the YAML nodes of a file of several documents. kPerDocument (the default)
// builds one document at a time, with a pace point (pace.h) between documents, so a reload that
// parses a long policy file does not hold a core for its whole length; files with directives
// (`%` lines) and documents that do not start a line fall back to kWholeFile, yaml-cpp's LoadAll.
// Both give the same result, locations included (ParserTest compares them).
enum class DocumentSplit { kPerDocument, kWholeFile };

// Parses one file into `out`, adding problems to `report`; no cross-document checks.
void ParseFile(const SourceFile& file, ParsedSources& out, ValidationReport& report,
               DocumentSplit split = DocumentSplit::kPerDocument);

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_PARSER_H_
