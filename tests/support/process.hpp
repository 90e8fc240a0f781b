// Child processes for tests that talk to real peers nobody here wrote (curl, nginx, openssl).
// The program is looked up on PATH; stdout and stderr go to a file that output() reads back.
// The destructor kills a child that is still running (SIGKILL) and reaps it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace edgesync::test {

class child_process {
public:
    // Starts argv[0] with argv; output goes to output_file. Throws when it cannot be started.
    child_process(std::vector<std::string> argv, std::string output_file);
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    // Exit status (128 + signal when killed by one), or nullopt if still running at the deadline.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    void terminate();  // SIGTERM, then wait up to 5 s, then SIGKILL
    std::string output() const;
    pid_t pid() const noexcept { return pid_; }

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::string output_file_;
};

// Runs a command to completion (bounded); returns {exit status, output}.
struct command_result {
    int status = -1;
    std::string output;
};
command_result run_command(const std::vector<std::string>& argv, const std::string& output_file,
                           std::chrono::milliseconds timeout = std::chrono::seconds(60));

// The command line that starts one of our own programs built for the target: the cross
// emulator (qemu, from EDGESYNC_TEST_EMULATOR; nothing natively) followed by `path`.
std::vector<std::string> own_program(const std::string& path);

// Full path of a program on PATH, or empty.
std::string find_program(const std::string& name);

// A TCP port on 127.0.0.1 that was free a moment ago (for peers that take a port number).
std::uint16_t free_loopback_port();
// True once something accepts connections on 127.0.0.1:port, polling up to `timeout`.
bool wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout);

}  // namespace edgesync::test
