// The writer the kill test SIGKILLs: it syncs sample units (resource + fingerprint + event +
// marker, store::apply_pulled) into a store as a pull would, resuming after the unit its marker
// names, and prints "ack N" (one write(2) per line) as soon as unit N is acknowledged — i.e. after
// its COMMIT returned. Up to 16 units are in flight, so the kill lands inside group commits.
//
//   edgesync_store_writer DB_PATH UNITS
//
// On start it first re-applies the unit the marker names (a replayed event after a crash); that
// must be a no-op, and the writer exits with status 3 if the store emitted an event for it.
#include "store/store.hpp"
#include "tests/store/store_support.hpp"

#include <boost/asio/use_future.hpp>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <future>
#include <string>

#include <unistd.h>

using namespace edgesync;

namespace {

std::future<store::result<store::write_result>> submit(store::store& s, std::uint64_t n) {
    return s.write<store::write_result>(
        [c = test::sample_pulled(n)](store::write_context& ctx) { return store::apply_pulled(ctx.db(), c, ctx.new_uuid(), ctx.now()); },
        boost::asio::use_future);
}

void say(const std::string& line) {
    const std::string l = line + "\n";
    if (::write(1, l.data(), l.size()) < 0) std::_Exit(4);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s DB_PATH UNITS\n", argv[0]);
        return 2;
    }
    store::store_options o;
    o.path = argv[1];
    o.instance_id = "kill-test";
    const std::uint64_t units = std::strtoull(argv[2], nullptr, 10);
    std::string why;
    auto s = store::store::open(o, why);
    if (!s) {
        std::fprintf(stderr, "open: %s: %s\n", s.error().message().c_str(), why.c_str());
        return 1;
    }
    auto m = test::read_sync<std::optional<store::marker>>(**s, [](store::sql::connection& db) { return store::get_marker(db, test::k_sample_feed); });
    if (!m) return 1;
    std::uint64_t next = 1;
    if (*m) {
        next = std::stoull((*m)->last_read_entry_id.substr(1)) + 1;
        auto replay = submit(**s, next - 1).get();
        if (!replay) return 1;
        if (replay->outcome != store::write_outcome::unchanged || replay->event_id != 0) return 3;
    }
    say("start " + std::to_string(next));
    std::deque<std::pair<std::uint64_t, std::future<store::result<store::write_result>>>> in_flight;
    while (next <= units || !in_flight.empty()) {
        while (next <= units && in_flight.size() < 16) {
            in_flight.emplace_back(next, submit(**s, next));
            ++next;
        }
        auto r = in_flight.front().second.get();
        if (!r) {
            std::fprintf(stderr, "write %llu: %s\n", static_cast<unsigned long long>(in_flight.front().first),
                         r.error().message().c_str());
            return 1;
        }
        say("ack " + std::to_string(in_flight.front().first));
        in_flight.pop_front();
    }
    say("done");
    return 0;
}
