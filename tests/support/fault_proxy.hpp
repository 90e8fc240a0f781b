// A TCP proxy on 127.0.0.1 that breaks the link between a client and its upstream the way slow,
// unreliable clinic links do, deterministically from a seed: added latency and jitter, a
// bandwidth cap per direction, resets at random byte offsets, stalls, truncated responses, and
// scripted outages. The same seed and parameters give the same decisions for the same sequence
// of connections, so a failure found with one seed is reproduced by running it again.
//
// Two parts, as the house style has it: `fault_plan` decides (pure: a seed in, fates and delays
// out, no I/O), `fault_proxy` moves bytes on the caller's io_context and applies the plan.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace edgesync::test {

struct link_faults {
    std::chrono::milliseconds latency{0};  // one way, added to every chunk in both directions
    std::chrono::milliseconds jitter{0};   // each chunk's delay is latency + [0, jitter)
    std::uint64_t bytes_per_second = 0;    // per direction; 0 = unlimited
    // Per connection, at most one fault, drawn in this order (the probabilities add up to <= 1):
    double reset = 0;     // both sides see a TCP reset once `offset` bytes have passed one way
    double stall = 0;     // nothing more passes after `offset` bytes, for `stall_for`
    double truncate = 0;  // the response (upstream -> client) ends cleanly after `offset` bytes
    std::chrono::milliseconds stall_for{std::chrono::seconds(5)};
    std::uint64_t max_offset = 64 * 1024;  // offsets are drawn from [0, max_offset)
    // Outages, as [from, to) after the proxy started: new connections are reset at once and open
    // ones are reset when an outage begins.
    struct window {
        std::chrono::milliseconds from, to;
    };
    std::vector<window> outages;
};

struct connection_fate {
    enum class kind : std::uint8_t { clean, reset, stall, truncate } what = kind::clean;
    bool downstream = true;    // the direction the offset counts: upstream -> client when true
    std::uint64_t offset = 0;  // bytes that pass in that direction before the fault
    bool operator==(const connection_fate&) const = default;
};

std::string to_string(const connection_fate& f);

class fault_plan {
public:
    fault_plan(std::uint64_t seed, link_faults faults);
    // The fate of the next connection accepted.
    connection_fate next_connection();
    // The delay of the next chunk (latency plus jitter).
    std::chrono::milliseconds next_delay();
    // Whether `since_start` falls in a scripted outage.
    bool in_outage(std::chrono::milliseconds since_start) const;
    const link_faults& faults() const noexcept { return faults_; }

private:
    std::uint64_t draw(std::uint64_t below);  // uniform in [0, below), the same on every platform
    double unit();                            // uniform in [0, 1)
    link_faults faults_;
    std::mt19937_64 rng_;
    std::mt19937_64 delay_rng_;  // its own stream: how chunks split never changes the fates
};

class fault_proxy {
public:
    // Listens on 127.0.0.1:listen_port (0: an ephemeral port) and forwards each connection to
    // `upstream`. Throws when the port cannot be bound.
    fault_proxy(boost::asio::io_context& ioc, boost::asio::ip::tcp::endpoint upstream, std::uint64_t seed, link_faults faults,
                std::uint16_t listen_port = 0);
    ~fault_proxy();
    fault_proxy(const fault_proxy&) = delete;
    fault_proxy& operator=(const fault_proxy&) = delete;

    std::uint16_t port() const noexcept;
    std::uint64_t seed() const noexcept;

    struct counts {
        std::uint64_t connections = 0, resets = 0, stalls = 0, truncations = 0, refused_in_outage = 0, cut_by_outage = 0;
        std::uint64_t bytes_up = 0, bytes_down = 0;
    };
    const counts& stats() const noexcept;
    // Every connection's fate, in accept order (what a failing run's log should print).
    const std::vector<connection_fate>& fates() const noexcept;

    struct state;

private:
    std::shared_ptr<state> state_;
};

}  // namespace edgesync::test
