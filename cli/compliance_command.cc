// `fleetpdp compliance report|catalogue`: the compliance report of cli/compliance.h.
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "bundles/archive.h"
#include "bundles/digest.h"
#include "bundles/loader.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/compliance.h"
#include "cli/loading.h"
#include "engine/parser.h"

namespace fleetpdp::cli {
namespace {

constexpr char kUsage[] = R"(usage: fleetpdp compliance COMMAND …

  report SRC|BUNDLE [--catalogue FILE] [--format markdown|json] [--output FILE]
                    [--fail-on-gaps] [--allow-unknown-tags]
                    controls → policies → tests, with gaps
  catalogue         print the built-in catalogue (a starting point for --catalogue)

Run "fleetpdp compliance report --help" for details.
)";

constexpr char kReportUsage[] = R"(usage: fleetpdp compliance report SRC|BUNDLE [flags]

Maps the controls of a compliance catalogue to the policies that claim them (metadata.compliance
tags), to those policies' statements, and to the policy tests that exercise them: a test counts for
a policy when one of the policy's statements decided it or when the test names one in
"statements:". The tests are run. Gaps: a control in policy scope that no policy claims
(no-policy), a claiming policy that no test exercises (no-test), a failing test of a claiming
policy (failing-test), and, with --allow-unknown-tags, tags not in the catalogue (unknown-tag).
A tag written with a catalogue alias (e.g. the CRA proposal's numbering) resolves to its control
and draws a warning.

  SRC|BUNDLE              a policy source directory or a bundle archive (signature not checked)
  --catalogue FILE        the catalogue (YAML, kind ComplianceCatalogue); default: the built-in
                          one (CRA Annex I, ISO/IEC 27400 7.1.2; "fleetpdp compliance catalogue")
  --format F              markdown (default) or json (schema fleetpdp.compliance-report/v1)
  -o, --output FILE       write the report to FILE instead of stdout
  --fail-on-gaps          exit 1 when the report has any gap
  --allow-unknown-tags    list tags missing from the catalogue as gaps instead of refusing them

Exit status: 0 report written; 1 gaps with --fail-on-gaps; 2 bad usage, unreadable or invalid
SRC or catalogue, or an unknown tag (without --allow-unknown-tags).
)";

constexpr char kCatalogueUsage[] = R"(usage: fleetpdp compliance catalogue

Prints the catalogue compiled into fleetpdp (cli/data/compliance-catalogue.yaml). Copy it, edit it
and pass it to "fleetpdp compliance report --catalogue FILE".
)";

int Fail(absl::string_view message) {
  std::cerr << "fleetpdp compliance report: " << message << "\n";
  return kExitUsage;
}

int RunReport(int argc, char** argv) {
  Args args(argc, argv);
  if (args.Help()) return (std::cout << kReportUsage, kExitOk);
  std::optional<std::string> catalogue_path = args.Take("--catalogue");
  std::string format = args.Take("--format").value_or("markdown");
  std::optional<std::string> output = args.Take("-o");
  if (!output) output = args.Take("--output");
  bool fail_on_gaps = args.TakeSwitch("--fail-on-gaps");
  bool allow_unknown = args.TakeSwitch("--allow-unknown-tags");
  std::vector<std::string> positional = args.TakePositional();
  if (absl::Status s = args.Finish(); !s.ok()) {
    std::cerr << "fleetpdp compliance report: " << s.message() << "\n\n" << kReportUsage;
    return kExitUsage;
  }
  if (positional.size() != 1) {
    std::cerr << "fleetpdp compliance report: expected one SRC or BUNDLE\n\n" << kReportUsage;
    return kExitUsage;
  }
  if (format != "markdown" && format != "json") {
    return Fail(absl::StrCat("--format: expected \"markdown\" or \"json\", not \"", format, "\""));
  }

  std::string catalogue_text(BuiltinCatalogueText());
  std::string catalogue_name = "<built-in>";
  if (catalogue_path) {
    absl::StatusOr<std::string> text = bundles::ReadFileBytes(*catalogue_path);
    if (!text.ok()) return Fail(absl::StrCat("--catalogue: ", text.status().message()));
    catalogue_text = *std::move(text);
    catalogue_name = *catalogue_path;
  }
  absl::StatusOr<Catalogue> catalogue = ParseCatalogue(catalogue_name, catalogue_text);
  if (!catalogue.ok()) {
    return Fail(absl::StrCat("invalid catalogue:\n", catalogue.status().message()));
  }

  const std::string& src = positional[0];
  absl::StatusOr<bundles::BundleFiles> files = ReadSourceFiles(src);
  if (!files.ok()) return Fail(absl::StrCat(src, ": ", files.status().message()));
  absl::StatusOr<bundles::LoadedBundle> bundle = bundles::CompileBundleFiles(*files);
  if (!bundle.ok()) return Fail(absl::StrCat(src, ": ", bundle.status().message()));
  // The policies with their tags and locations: the compiled index keeps neither.
  engine::ParsedSources parsed;
  std::vector<engine::SourceFile> sources;
  for (const auto& [path, content] : *files) {
    if (bundles::IsBundleDocument(path)) sources.push_back({path, content});
  }
  engine::ParseSources(sources, parsed);  // compiled above, so it parses without problems

  std::vector<engine::TestResult> results = engine::RunPolicyTests(*bundle->index, bundle->tests);
  BundleInfo info{bundle->metadata.name, bundle->metadata.revision, bundles::BundleDigest(*files)};
  Report report = BuildReport(*catalogue, parsed.set, CollectEvidence(*bundle->index, results),
                              std::move(info));

  if (!report.unknown_tags.empty() && !allow_unknown) {
    for (const TagNote& n : report.unknown_tags) {
      std::cerr << UnknownTagMessage(report, n) << "\n";
    }
    return Fail(absl::StrCat(report.unknown_tags.size(),
                             " compliance tag(s) not in the catalogue: fix the tags, extend the "
                             "catalogue (--catalogue FILE), or pass --allow-unknown-tags to list "
                             "them as gaps"));
  }
  for (const TagNote& n : report.alias_tags) {
    std::cerr << "warning: " << AliasTagMessage(n) << "\n";
  }

  std::string text = format == "json" ? RenderJson(report) : RenderMarkdown(report);
  if (output) {
    if (absl::Status s = bundles::WriteFileBytes(*output, text); !s.ok()) {
      return Fail(absl::StrCat("--output: ", s.message()));
    }
    size_t covered = 0;
    for (const ControlReport& c : report.controls) covered += c.status == ControlStatus::kCovered;
    std::cout << "wrote " << *output << ": " << report.controls.size() << " controls, " << covered
              << " covered, " << report.gaps.size() << " gap(s)\n";
  } else {
    std::cout << text;
  }
  if (fail_on_gaps && !report.gaps.empty()) {
    std::cerr << "fleetpdp compliance report: " << report.gaps.size()
              << " gap(s) (--fail-on-gaps)\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace

int RunComplianceCommand(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
    std::cout << kUsage;
    return argc < 2 ? kExitUsage : kExitOk;
  }
  std::string_view sub = argv[1];
  if (sub == "report") return RunReport(argc - 1, argv + 1);
  if (sub == "catalogue") {
    Args args(argc - 1, argv + 1);
    if (args.Help()) return (std::cout << kCatalogueUsage, kExitOk);
    if (absl::Status s = args.Finish(); !s.ok()) {
      std::cerr << "fleetpdp compliance catalogue: " << s.message() << "\n\n" << kCatalogueUsage;
      return kExitUsage;
    }
    std::cout << BuiltinCatalogueText();
    return kExitOk;
  }
  std::cerr << "fleetpdp compliance: unknown command \"" << sub << "\"\n\n" << kUsage;
  return kExitUsage;
}

}  // namespace fleetpdp::cli
