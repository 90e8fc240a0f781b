#include "agent/demo.hpp"

#include "net/auth.hpp"
#include "net/http_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace edgesync::agent {
namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;
using clock_type = std::chrono::steady_clock;

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int) { g_interrupted = 1; }

struct options {
    bool once = false;
    int patients = 500;
    int clinic_patients = 20;
    std::uint16_t port = 8090;
};

// ---- generated clinical data -----------------------------------------------------------------

class generator {
public:
    explicit generator(std::uint64_t seed) : rng_(seed) {}

    std::string uuid() {
        std::uniform_int_distribution<int> hex(0, 15);
        std::string u = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx";
        for (char& c : u) {
            if (c == 'x') c = "0123456789abcdef"[hex(rng_)];
            else if (c == 'y') c = "89ab"[hex(rng_) & 3];
        }
        return u;
    }
    template <class T, std::size_t N>
    const T& pick(const T (&from)[N]) {
        return from[std::uniform_int_distribution<std::size_t>(0, N - 1)(rng_)];
    }
    int between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    double between(double lo, double hi) { return std::round(std::uniform_real_distribution<double>(lo, hi)(rng_) * 10.0) / 10.0; }

    // One patient's record: the Patient, a visit (REST), a vitals Encounter and three Observations,
    // as Bundle entries (FHIR) and a REST visit body.
    struct record {
        json::array fhir_entries;
        std::string visit_uuid;
        json::object visit;
    };
    record patient_record(const std::string& location_id, const std::string& visit_type) {
        static const char* const given_f[] = {"Amina", "Grace", "Wanjiru", "Fatuma", "Esther", "Achieng", "Halima", "Nafula", "Zawadi", "Neema"};
        static const char* const given_m[] = {"Juma", "Otieno", "Baraka", "Kamau", "Mwangi", "Omondi", "Hassan", "Kiprono", "Musa", "Tumaini"};
        static const char* const family[] = {"Mwangi", "Otieno", "Kariuki", "Njoroge", "Wafula", "Chebet", "Mutua", "Ochieng", "Kimani", "Abdi"};
        static const char* const villages[] = {"Kisumu", "Siaya", "Bondo", "Ahero", "Maseno", "Usenge", "Rarieda", "Ugunja"};
        record r;
        const std::string pid = uuid(), eid = uuid();
        r.visit_uuid = uuid();
        const bool female = between(0, 1) == 0;
        const int year = between(1950, 2022), month = between(1, 12), day = between(1, 28);
        char birth[16];
        std::snprintf(birth, sizeof birth, "%04d-%02d-%02d", year, month, day);
        char ident[16];
        std::snprintf(ident, sizeof ident, "%06d", between(100000, 999999));
        const int visit_day = between(1, 28), hour = between(8, 16);
        char start[40], end[40];
        std::snprintf(start, sizeof start, "2026-11-%02dT%02d:%02d:00+03:00", visit_day, hour, between(0, 59));
        std::snprintf(end, sizeof end, "2026-11-%02dT%02d:%02d:00+03:00", visit_day, hour + 1, between(0, 59));
        json::object patient{
            {"resourceType", "Patient"},
            {"id", pid},
            {"identifier", json::array{json::object{{"use", "official"}, {"system", "urn:openmrs:identifier:OpenMRS ID"}, {"value", ident}}}},
            {"active", true},
            {"name", json::array{json::object{{"use", "official"}, {"family", pick(family)}, {"given", json::array{female ? pick(given_f) : pick(given_m)}}}}},
            {"gender", female ? "female" : "male"},
            {"birthDate", birth},
            {"address", json::array{json::object{{"use", "home"}, {"city", pick(villages)}, {"country", "Kenya"}}}}};
        json::object encounter{{"resourceType", "Encounter"},
                               {"id", eid},
                               {"status", "finished"},
                               {"class", json::object{{"system", "http://terminology.hl7.org/CodeSystem/v3-ActCode"}, {"code", "AMB"}}},
                               {"type", json::array{json::object{{"coding", json::array{json::object{{"system", "http://fhir.openmrs.org/code-system/encounter-type"},
                                                                                                      {"code", "67a71486-1a54-468f-ac3e-7091a9a79584"},
                                                                                                      {"display", "Vitals"}}}}}}},
                               {"subject", json::object{{"reference", "Patient/" + pid}}},
                               {"period", json::object{{"start", start}, {"end", end}}},
                               {"location", json::array{json::object{{"location", json::object{{"reference", "Location/" + location_id}}}}}}};
        auto entry = [](const json::object& res, const std::string& type, const std::string& id) {
            return json::object{{"resource", res}, {"request", json::object{{"method", "PUT"}, {"url", type + "/" + id}}}};
        };
        r.fhir_entries.push_back(entry(patient, "Patient", pid));
        r.fhir_entries.push_back(entry(encounter, "Encounter", eid));
        struct vital {
            const char* loinc;
            const char* name;
            const char* unit;
            double lo, hi;
        };
        static const vital vitals[] = {{"29463-7", "Weight", "kg", 3.0, 95.0}, {"8302-2", "Height", "cm", 50.0, 190.0}, {"8310-5", "Body temperature", "Cel", 35.8, 39.5}};
        for (const auto& v : vitals) {
            const std::string oid = uuid();
            json::object obs{{"resourceType", "Observation"},
                             {"id", oid},
                             {"status", "final"},
                             {"category", json::array{json::object{{"coding", json::array{json::object{{"system", "http://terminology.hl7.org/CodeSystem/observation-category"},
                                                                                                        {"code", "vital-signs"}}}}}}},
                             {"code", json::object{{"coding", json::array{json::object{{"system", "http://loinc.org"}, {"code", v.loinc}, {"display", v.name}}}},
                                                   {"text", v.name}}},
                             {"subject", json::object{{"reference", "Patient/" + pid}}},
                             {"encounter", json::object{{"reference", "Encounter/" + eid}}},
                             {"effectiveDateTime", start},
                             {"valueQuantity", json::object{{"value", between(v.lo, v.hi)}, {"unit", v.unit}, {"system", "http://unitsofmeasure.org"}, {"code", v.unit}}}};
            r.fhir_entries.push_back(entry(obs, "Observation", oid));
        }
        r.visit = json::object{{"uuid", r.visit_uuid},
                               {"patient", json::object{{"uuid", pid}}},
                               {"visitType", json::object{{"uuid", visit_type}}},
                               {"location", json::object{{"uuid", location_id}}},
                               {"startDatetime", start},
                               {"stopDatetime", end},
                               {"voided", false}};
        return r;
    }

private:
    std::mt19937_64 rng_;
};

// ---- the node processes ------------------------------------------------------------------------

struct node_process {
    std::string name;
    std::uint16_t port = 0;
    std::filesystem::path dir;
    pid_t pid = -1;
};

std::string random_token() {
    std::random_device rd;
    std::string t;
    for (int i = 0; i < 32; ++i) t += "0123456789abcdef"[rd() & 15];
    return t;
}

// The node's config: users for children (sync-peer), the demo's writes (local-app) and the admin.
std::string config_text(const node_process& n, const std::string& peer_token, const std::string& app_token, const std::string& admin_token,
                        std::uint16_t parent_port) {
    std::string c = "{\n  \"instance_id\": \"" + n.name + "\",\n  \"data_dir\": \"" + (n.dir / "data").string() + "\",\n" +
                    "  \"log\": {\"level\": \"warn\"},\n" + "  \"server\": {\"listen\": \"127.0.0.1:" + std::to_string(n.port) + "\", \"users\": [\n" +
                    "    {\"name\": \"clinic\", \"token_sha256\": \"" + net::sha256_hex(peer_token) + "\", \"roles\": [\"sync-peer\"]},\n" +
                    "    {\"name\": \"demo-app\", \"token_sha256\": \"" + net::sha256_hex(app_token) + "\", \"roles\": [\"local-app\"]},\n" +
                    "    {\"name\": \"admin\", \"token_sha256\": \"" + net::sha256_hex(admin_token) + "\", \"roles\": [\"admin\"]}]},\n";
    if (parent_port) {
        c += "  \"parent\": {\"url\": \"http://127.0.0.1:" + std::to_string(parent_port) + "\", \"token\": \"" + peer_token + "\"},\n";
        c += "  \"pull\": {\"interval\": \"20s\", \"batch_size\": 50},\n  \"push\": {\"interval\": \"20s\"},\n";
    }
    c += "}\n";
    return c;
}

bool spawn(node_process& n, const std::string& config_file) {
    const std::string log_file = (n.dir / "node.log").string();
    std::error_code ec;
    const std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();  // this binary
    if (ec) return false;
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);  // the demo gone (even killed): its nodes go too
        if (getppid() != parent) _exit(1);
        const int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(self.c_str(), "edgesync", "run", "-c", config_file.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    n.pid = pid;
    return true;
}

void stop(node_process& n) {
    if (n.pid <= 0) return;
    kill(n.pid, SIGTERM);
    int status = 0;
    waitpid(n.pid, &status, 0);
    n.pid = -1;
}

// ---- talking to the nodes ------------------------------------------------------------------------

struct demo {
    demo(options o, std::filesystem::path r, net::http_client& c) : opt(o), root(std::move(r)), client(c) {}
    options opt;
    std::filesystem::path root;
    std::string peer_token = random_token(), app_token = random_token(), admin_token = random_token();
    node_process district, clinic_a, clinic_b;
    net::http_client& client;
    bool tty = isatty(1) != 0;
    generator gen{std::random_device{}()};
    std::string location_district, location_a, location_b, visit_type;

    // (Arguments by value: none may be a temporary bound to a reference across the suspension.)
    asio::awaitable<boost::system::result<net::client_response>> call(const node_process& n, http::verb method, std::string path, std::string token,
                                                                      std::string body = {}) {
        net::client_request req;
        req.method = method;
        req.url = "http://127.0.0.1:" + std::to_string(n.port) + path;
        req.authorization = "Bearer " + token;
        if (!body.empty()) req.headers.set(http::field::content_type, "application/json");
        req.body = std::move(body);
        co_return co_await client.request(std::move(req));
    }
    asio::awaitable<void> sleep(std::chrono::milliseconds d) {
        asio::steady_timer t(co_await asio::this_coro::executor, d);
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    asio::awaitable<bool> wait_ready(const node_process& n) {
        for (int i = 0; i < 200 && !g_interrupted; ++i) {
            auto r = co_await call(n, http::verb::get, "/readyz", "");
            if (r && r->status == 200) co_return true;
            co_await sleep(std::chrono::milliseconds(100));
        }
        co_return false;
    }
    asio::awaitable<std::optional<json::object>> status(const node_process& n) {
        auto r = co_await call(n, http::verb::get, "/admin/api/status", admin_token);
        if (!r || r->status != 200) co_return std::nullopt;
        boost::system::error_code ec;
        auto v = json::parse(r->body, ec);
        if (ec || !v.is_object()) co_return std::nullopt;
        co_return v.as_object();
    }
    static std::int64_t resources(const json::object& s) { return s.at("store").at("resources").as_int64(); }
    static bool running(const json::object& s, const char* direction) {
        return s.at("directions").at(direction).at("running").as_bool();
    }

    bool start(node_process& n, std::uint16_t parent_port) {
        std::filesystem::create_directories(n.dir);
        const auto file = n.dir / "edgesync.jsonc";
        {
            std::ofstream f(file);
            f << config_text(n, peer_token, app_token, admin_token, parent_port);
        }
        std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
        return spawn(n, file.string());
    }

    // One FHIR transaction.
    asio::awaitable<bool> send_bundle(const node_process& n, json::array entries) {
        if (entries.empty()) co_return true;
        json::object bundle{{"resourceType", "Bundle"}, {"type", "transaction"}, {"entry", std::move(entries)}};
        std::string body = json::serialize(bundle);
        auto r = co_await call(n, http::verb::post, "/ws/fhir2/R4", app_token, std::move(body));
        if (!r || r->status != 200) {
            std::fprintf(stderr, "demo: writing to %s failed: %s\n", n.name.c_str(), r ? r->body.substr(0, 300).c_str() : r.error().message().c_str());
            co_return false;
        }
        co_return true;
    }
    // Writes the records' FHIR resources as transactions of at most 500 entries, their visits by REST.
    asio::awaitable<bool> write_records(const node_process& n, const std::vector<generator::record>& recs) {
        json::array entries;
        for (const auto& rec : recs) {
            for (const auto& e : rec.fhir_entries) entries.push_back(e);
            if (entries.size() >= 500) {
                const bool ok = co_await send_bundle(n, std::move(entries));
                if (!ok) co_return false;
                entries = json::array{};
            }
        }
        const bool ok = co_await send_bundle(n, std::move(entries));
        if (!ok) co_return false;
        for (const auto& rec : recs) {
            std::string body = json::serialize(rec.visit);
            auto r = co_await call(n, http::verb::post, "/ws/rest/v1/visit", app_token, std::move(body));
            if (!r || (r->status != 200 && r->status != 201)) {
                std::fprintf(stderr, "demo: writing a visit to %s failed: %s\n", n.name.c_str(), r ? r->body.substr(0, 300).c_str() : r.error().message().c_str());
                co_return false;
            }
        }
        co_return true;
    }

    asio::awaitable<bool> seed_district() {
        location_district = gen.uuid();
        location_a = gen.uuid();
        location_b = gen.uuid();
        visit_type = gen.uuid();
        json::array locs;
        for (auto [id, name] : {std::pair{location_district, "Kisumu County Referral Hospital"}, {location_a, "Rarieda Health Centre"}, {location_b, "Usenge Dispensary"}}) {
            json::object loc{{"resourceType", "Location"}, {"id", id}, {"status", "active"}, {"name", name},
                             {"address", json::object{{"district", "Kisumu"}, {"country", "Kenya"}}}};
            locs.push_back(json::object{{"resource", loc}, {"request", json::object{{"method", "PUT"}, {"url", "Location/" + id}}}});
        }
        const bool ok = co_await send_bundle(district, std::move(locs));
        if (!ok) co_return false;
        std::vector<generator::record> recs;
        for (int i = 0; i < opt.patients; ++i) recs.push_back(gen.patient_record(i % 3 == 0 ? location_a : i % 3 == 1 ? location_b : location_district, visit_type));
        co_return co_await write_records(district, recs);
    }

    // Live progress until `done` says so (or Ctrl-C): per clinic, per category of its pull.
    struct watch {
        const node_process* node;
        const char* direction;
        std::int64_t last_count = 0;
        clock_type::time_point last_at = clock_type::now();
        double rate = 0;
    };
    using done_test = std::function<bool(const std::map<std::string, json::object>&)>;
    asio::awaitable<bool> follow(std::vector<watch> watches, done_test done, std::chrono::seconds limit) {
        const auto t0 = clock_type::now();
        auto last_print = t0 - std::chrono::seconds(10);
        while (!g_interrupted && clock_type::now() - t0 < limit) {
            std::map<std::string, json::object> all;
            for (const auto* n : {&district, &clinic_a, &clinic_b})
                if (n->pid > 0)
                    if (auto s = co_await status(*n)) all[n->name] = std::move(*s);
            const bool finished = all.size() == 3 && done(all);
            const auto now = clock_type::now();
            if (finished || now - last_print >= std::chrono::milliseconds(tty ? 250 : 2000)) {
                last_print = now;
                std::string line;
                for (auto& w : watches) {
                    auto it = all.find(w.node->name);
                    if (it == all.end()) continue;
                    const auto& d = it->second.at("directions").at(w.direction).as_object();
                    const auto count = resources(it->second);
                    const double secs = std::chrono::duration<double>(now - w.last_at).count();
                    if (secs > 0.2) {
                        w.rate = static_cast<double>(count - w.last_count) / secs;
                        w.last_count = count;
                        w.last_at = now;
                    }
                    std::string what = "idle";
                    if (const auto* cur = d.if_contains("current")) {
                        const std::string category(cur->at("category").as_string());
                        const auto& events = all.at(std::string(w.direction) == "pull" ? district.name : w.node->name).at("events").as_object();
                        const auto total = events.contains(category) ? events.at(category).as_int64() : 0;
                        what = category + " " + std::to_string(cur->at("category_entries").as_int64()) + "/" + std::to_string(total) + " events";
                    }
                    char buf[200];
                    std::snprintf(buf, sizeof buf, "  %s %s: %-28s %6lld resources %7.0f/s", w.node->name.c_str(), w.direction, what.c_str(),
                                  static_cast<long long>(count), w.rate < 0 ? 0.0 : w.rate);
                    line += buf;
                }
                std::printf(tty ? "\r%s\033[K" : "%s\n", line.c_str());
                std::fflush(stdout);
            }
            if (finished) {
                if (tty) std::printf("\n");
                co_return true;
            }
            co_await sleep(std::chrono::milliseconds(200));
        }
        if (tty) std::printf("\n");
        co_return false;
    }

    asio::awaitable<int> run() {
        const auto t0 = clock_type::now();
        std::printf("edgesync demo: a district and two clinics on 127.0.0.1:%u-%u, data in %s\n", opt.port, opt.port + 2, root.c_str());
        district = {"district", opt.port, root / "district"};
        clinic_a = {"clinic-a", static_cast<std::uint16_t>(opt.port + 1), root / "clinic-a"};
        clinic_b = {"clinic-b", static_cast<std::uint16_t>(opt.port + 2), root / "clinic-b"};
        bool up = start(district, 0);
        if (up) up = co_await wait_ready(district);
        if (!up) {
            std::fprintf(stderr, "demo: the district node did not start (port %u in use?); see %s\n", opt.port, (district.dir / "node.log").c_str());
            co_return 1;
        }
        const auto s0 = clock_type::now();
        const bool seeded_ok = co_await seed_district();
        if (!seeded_ok) co_return 1;
        auto ds = co_await status(district);
        if (!ds) co_return 1;
        const auto seeded = resources(*ds);
        std::printf("seeded the district: %d patients with a visit, an encounter and 3 vital signs each, 3 locations: %lld resources in %.1f s\n",
                    opt.patients, static_cast<long long>(seeded), std::chrono::duration<double>(clock_type::now() - s0).count());

        for (auto* c : {&clinic_a, &clinic_b}) {
            bool started = start(*c, district.port);
            if (started) started = co_await wait_ready(*c);
            if (!started) {
                std::fprintf(stderr, "demo: %s did not start; see %s\n", c->name.c_str(), (c->dir / "node.log").c_str());
                co_return 1;
            }
        }
        std::printf("pull: both clinics read the district's feeds\n");
        const auto p0 = clock_type::now();
        done_test converged = [](const std::map<std::string, json::object>& all) {
            const auto target = resources(all.at("district"));
            for (const char* c : {"clinic-a", "clinic-b"})
                if (resources(all.at(c)) != target || running(all.at(c), "pull")) return false;
            return true;
        };
        std::vector<watch> pulls{{&clinic_a, "pull"}, {&clinic_b, "pull"}};
        bool went = co_await follow(std::move(pulls), converged, std::chrono::seconds(600));
        if (!went) co_return 1;
        const double pull_s = std::chrono::duration<double>(clock_type::now() - p0).count();

        std::printf("clinic-a records %d new patients (with visits, encounters, vitals) and pushes them up; clinic-b pulls them\n", opt.clinic_patients);
        std::vector<generator::record> mine;
        for (int i = 0; i < opt.clinic_patients; ++i) mine.push_back(gen.patient_record(location_a, visit_type));
        went = co_await write_records(clinic_a, mine);
        if (!went) co_return 1;
        const auto q0 = clock_type::now();
        co_await call(clinic_a, http::verb::post, "/admin/api/sync/push", admin_token);
        done_test pushed = [](const std::map<std::string, json::object>& all) {
            return resources(all.at("district")) == resources(all.at("clinic-a")) && !running(all.at("clinic-a"), "push");
        };
        std::vector<watch> push_watch{{&clinic_a, "push"}};
        went = co_await follow(std::move(push_watch), pushed, std::chrono::seconds(300));
        if (!went) co_return 1;
        const double push_s = std::chrono::duration<double>(clock_type::now() - q0).count();
        co_await call(clinic_b, http::verb::post, "/admin/api/sync/pull", admin_token);
        std::vector<watch> pull_b{{&clinic_b, "pull"}};
        went = co_await follow(std::move(pull_b), converged, std::chrono::seconds(300));
        if (!went) co_return 1;

        // The summary, from each node's own account.
        std::map<std::string, json::object> all;
        for (const auto* n : {&district, &clinic_a, &clinic_b})
            if (auto s = co_await status(*n)) all[n->name] = std::move(*s);
        if (all.size() != 3) co_return 1;
        std::printf("\nsummary (%.1f s in all)\n", std::chrono::duration<double>(clock_type::now() - t0).count());
        std::printf("  %-9s %10s %9s %8s %8s %10s\n", "node", "resources", "store", "failed", "parked", "conflicts");
        bool clean = true;
        for (const auto& [name, s] : all) {
            const auto& q = s.at("queues").as_object();
            std::printf("  %-9s %10lld %8.1fM %8lld %8lld %10lld\n", name.c_str(), static_cast<long long>(resources(s)),
                        static_cast<double>(s.at("store").at("bytes").as_int64()) / 1e6, static_cast<long long>(q.at("failed_pending").as_int64()),
                        static_cast<long long>(q.at("failed_parked").as_int64()), static_cast<long long>(q.at("conflicts_open").as_int64()));
            clean &= q.at("failed_pending").as_int64() + q.at("failed_parked").as_int64() + q.at("conflicts_open").as_int64() == 0;
        }
        std::printf("  initial pull of %lld resources to both clinics: %.1f s; push of clinic-a's %zu resources: %.1f s\n",
                    static_cast<long long>(seeded), pull_s, mine.size() * 6, push_s);
        for (const char* c : {"clinic-a", "clinic-b"})
            for (const char* dir : {"pull", "push"}) {
                const auto& d = all.at(c).at("directions").at(dir).as_object();
                const auto* last = d.if_contains("last");
                if (!last) continue;
                std::printf("  %s %s, last run: %lld events, %lld written, %lld failed, %lld conflicts, %lld ms%s%s\n", c, dir,
                            static_cast<long long>(last->at("entries").as_int64()), static_cast<long long>(last->at("written").as_int64()),
                            static_cast<long long>(last->at("failed").as_int64()), static_cast<long long>(last->at("conflicts").as_int64()),
                            static_cast<long long>(last->at("ms").as_int64()), last->at("error").as_string().empty() ? "" : ", error: ",
                            last->at("error").as_string().c_str());
            }
        const auto total = resources(all.at("district"));
        const bool same = resources(all.at("clinic-a")) == total && resources(all.at("clinic-b")) == total;
        std::printf("  %s\n", same && clean ? "converged: every node holds the same resources, nothing failed, no conflicts"
                                            : "NOT converged: see the table above and the node logs");
        std::printf("\nadmin pages (sign in with an empty user name and the token %s):\n", admin_token.c_str());
        for (const auto* n : {&district, &clinic_a, &clinic_b})
            std::printf("  %-9s http://127.0.0.1:%u/admin/\n", n->name.c_str(), n->port);
        std::printf("admin API (the same token):\n");
        for (const auto* n : {&district, &clinic_a, &clinic_b})
            std::printf("  %-9s curl -H 'Authorization: Bearer %s' http://127.0.0.1:%u/admin/api/status\n", n->name.c_str(), admin_token.c_str(), n->port);
        std::printf("  local-app token (FHIR at /ws/fhir2/R4, REST at /ws/rest/v1): %s\n", app_token.c_str());
        co_return same && clean ? 0 : 1;
    }
};

asio::awaitable<void> run_demo(demo& d, int& code) {
    code = co_await d.run();
}

}  // namespace

int demo_command(const std::vector<std::string_view>& args) {
    options opt;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view a = args[i];
        auto number = [&](int lo, int hi, int& into) {
            if (i + 1 >= args.size()) return false;
            const std::string v(args[++i]);
            char* end = nullptr;
            const long n = std::strtol(v.c_str(), &end, 10);
            if (!end || *end || n < lo || n > hi) return false;
            into = static_cast<int>(n);
            return true;
        };
        int port = opt.port;
        if (a == "--once") opt.once = true;
        else if (a == "--patients" && number(1, 100000, opt.patients)) continue;
        else if (a == "--port" && number(1024, 65533, port)) opt.port = static_cast<std::uint16_t>(port);
        else {
            std::fprintf(stderr, "edgesync demo: unexpected or invalid argument '%.*s' (usage: demo [--once] [--patients N] [--port P])\n",
                         static_cast<int>(a.size()), a.data());
            return 2;
        }
    }
    char tmpl[] = "/tmp/edgesync-demo.XXXXXX";
    if (!mkdtemp(tmpl)) {
        std::perror("edgesync demo: mkdtemp");
        return 1;
    }
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    asio::io_context ioc(1);
    net::client_params cp;
    cp.use_env_proxy = false;  // loopback only
    net::http_client client(ioc.get_executor(), cp);
    demo d(opt, tmpl, client);
    int code = 1;
    asio::co_spawn(ioc, run_demo(d, code), asio::detached);
    ioc.run();
    if (!opt.once && !g_interrupted) {
        std::printf("\nthe nodes keep syncing every 20 s; Ctrl-C stops them and removes %s\n", tmpl);
        std::fflush(stdout);
        while (!g_interrupted) pause();
    }
    for (auto* n : {&d.clinic_b, &d.clinic_a, &d.district}) stop(*n);
    std::error_code ec;
    std::filesystem::remove_all(tmpl, ec);
    return g_interrupted && code == 0 ? 0 : code;
}

}  // namespace edgesync::agent
