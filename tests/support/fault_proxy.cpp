#include "support/fault_proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <deque>

namespace edgesync::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

std::string to_string(const connection_fate& f) {
    const char* what = f.what == connection_fate::kind::reset      ? "reset"
                       : f.what == connection_fate::kind::stall    ? "stall"
                       : f.what == connection_fate::kind::truncate ? "truncate"
                                                                   : "clean";
    if (f.what == connection_fate::kind::clean) return what;
    return std::string(what) + (f.downstream ? " down@" : " up@") + std::to_string(f.offset);
}

fault_plan::fault_plan(std::uint64_t seed, link_faults faults)
    : faults_(std::move(faults)), rng_(seed), delay_rng_(seed ^ 0x9e3779b97f4a7c15ULL) {}

std::uint64_t fault_plan::draw(std::uint64_t below) { return below == 0 ? 0 : rng_() % below; }
double fault_plan::unit() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

connection_fate fault_plan::next_connection() {
    // Always the same number of draws per connection, whatever the fate, so one connection's
    // fate never shifts the next one's.
    const double u = unit();
    const bool downstream = draw(2) == 0;
    const std::uint64_t offset = draw(faults_.max_offset);
    connection_fate f;
    f.downstream = downstream;
    f.offset = offset;
    if (u < faults_.reset) f.what = connection_fate::kind::reset;
    else if (u < faults_.reset + faults_.stall) f.what = connection_fate::kind::stall;
    else if (u < faults_.reset + faults_.stall + faults_.truncate) {
        f.what = connection_fate::kind::truncate;
        f.downstream = true;  // a truncated response
    } else {
        f = connection_fate{};
    }
    return f;
}

std::chrono::milliseconds fault_plan::next_delay() {
    const auto j = faults_.jitter.count() > 0 ? static_cast<std::int64_t>(delay_rng_() % static_cast<std::uint64_t>(faults_.jitter.count())) : 0;
    return faults_.latency + std::chrono::milliseconds(j);
}

bool fault_plan::in_outage(std::chrono::milliseconds since_start) const {
    for (const auto& w : faults_.outages)
        if (since_start >= w.from && since_start < w.to) return true;
    return false;
}

namespace {

// One proxied connection. Owned by its four coroutines (two readers, two writers) through
// shared_ptr; the proxy keeps only a weak_ptr, to cut it in an outage or on destruction.
struct link : std::enable_shared_from_this<link> {
    tcp::socket client, server;
    connection_fate fate;
    bool dead = false;       // reset or closed: the pumps stop
    bool truncated = false;  // the response was cut: what the client still sends is dropped

    struct chunk {
        std::string bytes;
        std::chrono::steady_clock::time_point due;
    };
    // Per direction (0: up, client -> server; 1: down): chunks read and waiting to be written.
    struct lane {
        std::deque<chunk> queue;
        std::size_t queued_bytes = 0;
        bool eof = false;
        std::uint64_t passed = 0;  // bytes written on
        std::unique_ptr<asio::steady_timer> wake_writer, wake_reader;
    };
    std::array<lane, 2> lanes;
    static constexpr std::size_t k_window = 256 * 1024;  // bytes in flight per direction

    link(asio::io_context& ioc, tcp::socket c) : client(std::move(c)), server(ioc) {
        for (auto& l : lanes) {
            l.wake_writer = std::make_unique<asio::steady_timer>(ioc, std::chrono::steady_clock::time_point::max());
            l.wake_reader = std::make_unique<asio::steady_timer>(ioc, std::chrono::steady_clock::time_point::max());
        }
    }
    void reset() {
        if (dead) return;
        dead = true;
        boost::system::error_code ec;
        for (auto* s : {&client, &server}) {
            if (!s->is_open()) continue;
            s->set_option(asio::socket_base::linger(true, 0), ec);  // close sends RST
            s->close(ec);
        }
        for (auto& l : lanes) {
            l.wake_writer->cancel();
            l.wake_reader->cancel();
        }
    }
};

}  // namespace

struct fault_proxy::state : std::enable_shared_from_this<fault_proxy::state> {
    asio::io_context& ioc;
    tcp::acceptor acceptor;
    tcp::endpoint upstream;
    std::uint64_t seed;
    fault_plan plan;
    counts stats;
    std::vector<connection_fate> fates;
    std::vector<std::weak_ptr<link>> links;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    bool stopped = false;
    std::unique_ptr<asio::steady_timer> outage_timer;

    state(asio::io_context& io, tcp::endpoint up, std::uint64_t s, link_faults f, std::uint16_t port)
        : ioc(io), acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)), upstream(up), seed(s), plan(s, std::move(f)) {}

    std::chrono::milliseconds since_start() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    }

    asio::awaitable<void> accept_loop() {
        auto self = shared_from_this();
        for (;;) {
            auto [ec, sock] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec || stopped) co_return;
            auto l = std::make_shared<link>(ioc, std::move(sock));
            ++stats.connections;
            if (plan.in_outage(since_start())) {
                ++stats.refused_in_outage;
                l->reset();
                continue;
            }
            l->fate = plan.next_connection();
            fates.push_back(l->fate);
            links.push_back(l);
            asio::co_spawn(ioc, run_link(l), asio::detached);
        }
    }

    asio::awaitable<void> outages() {
        auto self = shared_from_this();
        for (const auto& w : plan.faults().outages) {
            outage_timer->expires_at(started + w.from);
            auto [ec] = co_await outage_timer->async_wait(asio::as_tuple(asio::use_awaitable));
            if (ec || stopped) co_return;
            for (auto& weak : links)
                if (auto l = weak.lock(); l && !l->dead) {
                    ++stats.cut_by_outage;
                    l->reset();
                }
        }
    }

    asio::awaitable<void> run_link(std::shared_ptr<link> l) {
        auto self = shared_from_this();
        auto [ec] = co_await l->server.async_connect(upstream, asio::as_tuple(asio::use_awaitable));
        if (ec) {
            l->reset();  // the client sees what a dead upstream looks like through a proxy
            co_return;
        }
        for (int d = 0; d < 2; ++d) {
            asio::co_spawn(ioc, reader(l, d == 1), asio::detached);
            asio::co_spawn(ioc, writer(l, d == 1), asio::detached);
        }
    }

    // Reads one direction into its lane, stamping each chunk with when it may leave.
    asio::awaitable<void> reader(std::shared_ptr<link> l, bool down) {
        auto self = shared_from_this();
        auto& lane = l->lanes[down ? 1 : 0];
        tcp::socket& from = down ? l->server : l->client;
        std::array<char, 16 * 1024> buf;
        while (!l->dead) {
            if (lane.queued_bytes >= link::k_window) {  // backpressure: the writer is behind
                lane.wake_reader->expires_at(std::chrono::steady_clock::time_point::max());
                co_await lane.wake_reader->async_wait(asio::as_tuple(asio::use_awaitable));
                continue;
            }
            auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
            if (l->dead) co_return;
            if (ec) {
                if (l->truncated && down) co_return;  // the upstream socket was closed on purpose
                if (ec != asio::error::eof) {
                    l->reset();
                    co_return;
                }
                lane.eof = true;
                lane.wake_writer->cancel();
                co_return;
            }
            lane.queue.push_back({std::string(buf.data(), n), std::chrono::steady_clock::now() + plan.next_delay()});
            lane.queued_bytes += n;
            lane.wake_writer->cancel();
        }
    }

    asio::awaitable<void> writer(std::shared_ptr<link> l, bool down) {
        auto self = shared_from_this();
        auto& lane = l->lanes[down ? 1 : 0];
        tcp::socket& to = down ? l->client : l->server;
        asio::steady_timer wait(ioc);
        auto next_send = std::chrono::steady_clock::now();
        const auto rate = plan.faults().bytes_per_second;
        const bool faulty = l->fate.what != connection_fate::kind::clean && l->fate.downstream == down;
        bool fault_done = !faulty;
        while (!l->dead) {
            if (lane.queue.empty()) {
                if (lane.eof) {
                    boost::system::error_code ec;
                    to.shutdown(tcp::socket::shutdown_send, ec);  // pass the clean end on
                    co_return;
                }
                lane.wake_writer->expires_at(std::chrono::steady_clock::time_point::max());
                co_await lane.wake_writer->async_wait(asio::as_tuple(asio::use_awaitable));
                continue;
            }
            auto& c = lane.queue.front();
            const auto due = std::max(c.due, next_send);
            if (due > std::chrono::steady_clock::now()) {
                wait.expires_at(due);
                co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
                if (l->dead) co_return;
            }
            std::string bytes = std::move(c.bytes);
            lane.queue.pop_front();
            lane.queued_bytes -= bytes.size();
            lane.wake_reader->cancel();
            if (l->truncated) continue;  // the upstream is gone; the client gets its clean end
            std::size_t take = bytes.size();
            bool fault_now = false;
            if (!fault_done && lane.passed + take >= l->fate.offset) {
                take = static_cast<std::size_t>(l->fate.offset - lane.passed);
                fault_now = true;
            }
            if (take > 0) {
                auto [ec, n] = co_await asio::async_write(to, asio::buffer(bytes.data(), take), asio::as_tuple(asio::use_awaitable));
                if (ec || l->dead) {
                    l->reset();
                    co_return;
                }
                lane.passed += n;
                (down ? stats.bytes_down : stats.bytes_up) += n;
                if (rate > 0) next_send = std::max(next_send, std::chrono::steady_clock::now()) +
                                          std::chrono::microseconds(static_cast<std::int64_t>(n * 1'000'000 / rate));
            }
            if (!fault_now) continue;
            fault_done = true;
            switch (l->fate.what) {
                case connection_fate::kind::reset:
                    ++stats.resets;
                    l->reset();
                    co_return;
                case connection_fate::kind::truncate: {
                    ++stats.truncations;
                    l->truncated = true;
                    // The client sees a clean end after `offset` bytes; the upstream is dropped.
                    boost::system::error_code ec;
                    to.shutdown(tcp::socket::shutdown_send, ec);
                    l->server.close(ec);
                    co_return;
                }
                case connection_fate::kind::stall: {
                    ++stats.stalls;
                    wait.expires_after(plan.faults().stall_for);
                    co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
                    break;
                }
                case connection_fate::kind::clean: break;
            }
            // The rest of this chunk goes on after the stall.
            if (take < bytes.size()) {
                lane.queue.push_front({bytes.substr(take), std::chrono::steady_clock::now()});
                lane.queued_bytes += bytes.size() - take;
            }
        }
    }
};

fault_proxy::fault_proxy(asio::io_context& ioc, tcp::endpoint upstream, std::uint64_t seed, link_faults faults, std::uint16_t listen_port)
    : state_(std::make_shared<state>(ioc, upstream, seed, std::move(faults), listen_port)) {
    state_->outage_timer = std::make_unique<asio::steady_timer>(ioc);
    asio::co_spawn(ioc, state_->accept_loop(), asio::detached);
    if (!state_->plan.faults().outages.empty()) asio::co_spawn(ioc, state_->outages(), asio::detached);
}

fault_proxy::~fault_proxy() {
    state_->stopped = true;
    boost::system::error_code ec;
    state_->acceptor.close(ec);
    state_->outage_timer->cancel();
    for (auto& weak : state_->links)
        if (auto l = weak.lock()) l->reset();
}

std::uint16_t fault_proxy::port() const noexcept { return state_->acceptor.local_endpoint().port(); }
std::uint64_t fault_proxy::seed() const noexcept { return state_->seed; }
const fault_proxy::counts& fault_proxy::stats() const noexcept { return state_->stats; }
const std::vector<connection_fate>& fault_proxy::fates() const noexcept { return state_->fates; }

}  // namespace edgesync::test
