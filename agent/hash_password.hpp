// `edgesync hash-password`: makes the secrets the config's users[] hold, so no one ever writes a
// plain password into a config file.
//   edgesync hash-password [--iterations N]
//       reads a password (on a terminal: asked twice, not echoed; otherwise the first line of
//       standard input) and prints its salted PBKDF2-SHA256 hash for "password_hash".
//   edgesync hash-password --token
//       makes a random bearer token and prints it (for the client) and its SHA-256 (for
//       "token_sha256").
#pragma once

#include <cstdio>
#include <string_view>
#include <vector>

namespace edgesync::agent {

// Exit status: 0 done, 1 bad input (empty or mismatched password), 2 bad usage.
int hash_password_command(const std::vector<std::string_view>& args, std::FILE* in, std::FILE* out, std::FILE* err);

}  // namespace edgesync::agent
