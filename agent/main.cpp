// edgesync: command-line entry point. Wiring only; each subcommand lives in its own module.
#include "agent/config.hpp"
#include "agent/cli.hpp"
#include "agent/demo.hpp"
#include "agent/hash_password.hpp"
#include "agent/node.hpp"
#include "agent/version.hpp"

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace edgesync::agent {
// The --help text: agent/help.txt, embedded at build time (the package installs the same file).
extern const std::string_view k_help_text;
}  // namespace edgesync::agent

namespace {

using edgesync::agent::k_help_text;

int usage_error(std::string_view msg) {
    std::fprintf(stderr, "edgesync: %.*s\n\n%.*s", static_cast<int>(msg.size()), msg.data(),
                 static_cast<int>(k_help_text.size()), k_help_text.data());
    return 2;
}

// Prints every problem; returns true when there is no error (warnings are fine).
bool report(const std::string& file, const edgesync::config::load_result& r) {
    for (const auto& p : r.problems) std::fprintf(stderr, "%s\n", edgesync::config::format_problem(file, p).c_str());
    return r.config.has_value();
}

int check_config(const std::vector<std::string_view>& args) {
    if (args.size() != 1) return usage_error("check-config takes exactly one FILE");
    const std::string file(args[0]);
    auto r = edgesync::config::load_config_file(file);
    bool ok = report(file, r);
    std::size_t errors = 0, warnings = 0;
    for (const auto& p : r.problems) (p.level == edgesync::config::problem::severity::error ? errors : warnings)++;
    if (ok) std::printf("%s: ok (%zu warning%s)\n", file.c_str(), warnings, warnings == 1 ? "" : "s");
    else std::fprintf(stderr, "%s: %zu error%s, %zu warning%s\n", file.c_str(), errors, errors == 1 ? "" : "s", warnings,
                      warnings == 1 ? "" : "s");
    return ok ? 0 : 1;
}

int run(const std::vector<std::string_view>& args) {
    std::string file;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if ((args[i] == "-c" || args[i] == "--config") && i + 1 < args.size()) file = std::string(args[++i]);
        else return usage_error("run: unexpected argument '" + std::string(args[i]) + "'");
    }
    if (file.empty()) return usage_error("run needs -c FILE");
    auto r = edgesync::config::load_config_file(file);
    if (!report(file, r)) {
        std::fprintf(stderr, "%s: not starting: fix the errors above (edgesync check-config %s)\n", file.c_str(), file.c_str());
        return 1;
    }
    return edgesync::run_node(*r.config);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string_view> args(argv + 1, argv + argc);
    if (args.empty()) return usage_error("no command given");
    const std::string_view cmd = args.front();
    args.erase(args.begin());
    if (cmd == "version" || cmd == "--version") {
        std::fputs(edgesync::version_text().c_str(), stdout);
        return 0;
    }
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
        std::fwrite(k_help_text.data(), 1, k_help_text.size(), stdout);
        return 0;
    }
    if (cmd == "check-config") return check_config(args);
    if (cmd == "run") return run(args);
    if (cmd == "demo") return edgesync::agent::demo_command(args);
    if (cmd == "status" || cmd == "failed" || cmd == "conflicts" || cmd == "audit" || cmd == "sync") return edgesync::agent::admin_command(cmd, args);
    if (cmd == "hash-password") return edgesync::agent::hash_password_command(args, stdin, stdout, stderr);
    return usage_error("unknown command '" + std::string(cmd) + "'");
}
