// `edgesync demo`: a district node and two clinics on loopback, each a real `edgesync run`
// process with an embedded store in a throw-away folder. The district is seeded with generated
// clinical data (locations, patients, visits, encounters, observations); the clinics pull it with
// live progress, clinic A records its own patients and pushes them up, clinic B pulls them, and a
// summary says what moved, what failed and how long it took. The nodes then stay up (admin URLs
// and a fresh admin token printed) until Ctrl-C, or the demo exits with --once.
#pragma once

#include <string_view>
#include <vector>

namespace edgesync::agent {

// argv after "demo"; returns the exit code (0: every node converged).
int demo_command(const std::vector<std::string_view>& args);

}  // namespace edgesync::agent
