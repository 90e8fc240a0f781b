#include "agent/hash_password.hpp"

#include "net/auth.hpp"

#include <charconv>
#include <string>
#include <sys/random.h>
#include <termios.h>
#include <unistd.h>

namespace edgesync::agent {

namespace {

constexpr std::uint32_t k_min_iterations = 10'000;

// One line without its newline; false at end of input.
bool read_line(std::FILE* in, std::string& line) {
    line.clear();
    int c;
    while ((c = std::fgetc(in)) != EOF && c != '\n') line += static_cast<char>(c);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return c != EOF || !line.empty();
}

// Asks on the terminal with echo off; restores the terminal whatever happens.
bool prompt_hidden(std::FILE* in, std::FILE* err, const char* question, std::string& answer) {
    const int fd = ::fileno(in);
    termios old{};
    const bool tty = ::tcgetattr(fd, &old) == 0;
    if (tty) {
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    std::fputs(question, err);
    std::fflush(err);
    const bool ok = read_line(in, answer);
    if (tty) {
        ::tcsetattr(fd, TCSAFLUSH, &old);
        std::fputc('\n', err);
    }
    return ok;
}

}  // namespace

int hash_password_command(const std::vector<std::string_view>& args, std::FILE* in, std::FILE* out, std::FILE* err) {
    std::uint32_t iterations = 210'000;
    bool token = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--token") {
            token = true;
        } else if (args[i] == "--iterations" && i + 1 < args.size()) {
            const auto v = args[++i];
            auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), iterations);
            if (ec != std::errc{} || p != v.data() + v.size() || iterations < k_min_iterations) {
                std::fprintf(err, "edgesync hash-password: --iterations must be a number >= %u\n", k_min_iterations);
                return 2;
            }
        } else {
            std::fprintf(err, "edgesync hash-password: unexpected argument '%.*s'\nusage: edgesync hash-password [--iterations N] | --token\n",
                         static_cast<int>(args[i].size()), args[i].data());
            return 2;
        }
    }
    if (token) {
        unsigned char raw[32];
        if (::getrandom(raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw)) {
            std::fputs("edgesync hash-password: no randomness available\n", err);
            return 1;
        }
        const std::string t = net::hex_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
        std::fprintf(out, "token: %s\ntoken_sha256: %s\n", t.c_str(), net::sha256_hex(t).c_str());
        return 0;
    }
    std::string password;
    if (::isatty(::fileno(in))) {
        std::string again;
        if (!prompt_hidden(in, err, "password: ", password) || !prompt_hidden(in, err, "again: ", again)) return 1;
        if (password != again) {
            std::fputs("edgesync hash-password: the two passwords differ; nothing printed\n", err);
            return 1;
        }
    } else {
        read_line(in, password);
    }
    if (password.empty()) {
        std::fputs("edgesync hash-password: empty password; nothing printed\n", err);
        return 1;
    }
    if (password.size() < 12) std::fputs("edgesync hash-password: warning: passwords under 12 characters are easy to guess\n", err);
    std::fprintf(out, "%s\n", net::hash_password(password, iterations).c_str());
    return 0;
}

}  // namespace edgesync::agent
