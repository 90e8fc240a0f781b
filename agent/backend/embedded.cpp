#include "agent/backend/embedded.hpp"

#include "agent/feed/publisher.hpp"
#include "agent/sync/fingerprint.hpp"
#include "store/store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace edgesync::backend {
namespace asio = boost::asio;
namespace json = boost::json;
using boost::system::error_code;

namespace {

constexpr std::string_view k_local_feed = "edgesync-local:";

// The marker of the local feed: feed_uri names the category, the entry id is the atom id the
// publisher gives the event, and feed_uri_for_last_read_entry carries the event's row id, from
// which the next read continues.
std::string local_feed_key(const std::string& category) { return std::string(k_local_feed) + category; }

feed::feed_entry entry_of(const store::event_record& e) {
    feed::feed_entry out;
    out.id = "tag:atomfeed.ict4h.org:" + e.uuid;
    out.title = e.title;
    out.categories.push_back(e.category);
    for (std::size_t pos = 0; pos < e.tags.size();) {
        const auto comma = std::min(e.tags.find(',', pos), e.tags.size());
        std::string term = e.tags.substr(pos, comma - pos);
        term.erase(0, term.find_first_not_of(' '));
        term.erase(term.find_last_not_of(' ') + 1);
        if (!term.empty()) out.categories.push_back(std::move(term));
        pos = comma + 1;
    }
    out.updated = out.published = feed::format_atom_time(e.timestamp);
    out.content_type = "application/vnd.atomfeed+xml";
    out.content = e.object;
    return out;
}

class embedded_backend final : public local_backend {
public:
    embedded_backend(store::store& st, embedded_params p) : st_(st), p_(std::move(p)) {}

    std::string_view kind() const noexcept override { return "embedded"; }
    std::string feed_key(const std::string& category) const override { return local_feed_key(category); }

    asio::awaitable<feed::run_status> read_feed(std::string category, feed::entry_processor process, feed::entries_hook ahead) override {
        feed::run_status status;
        const std::string key = local_feed_key(category);
        auto read_marker = [key](store::sql::connection& db) { return store::get_marker(db, key); };
        auto m = co_await st_.read<std::optional<store::marker>>(std::move(read_marker));
        if (!m) {
            status.error = m.error();
            status.detail = "read the marker";
            co_return status;
        }
        std::int64_t after = 0;
        if (*m) after = std::strtoll((*m)->feed_uri_for_last_read_entry.c_str() + key.size() + 1, nullptr, 10);
        for (;;) {
            auto read_events = [category, after, n = p_.feed_batch](store::sql::connection& db) {
                return store::events_after(db, category, after, n);
            };
            auto events = co_await st_.read<std::vector<store::event_record>>(std::move(read_events));
            if (!events) {
                status.error = events.error();
                status.detail = "read the events";
                co_return status;
            }
            if (events->empty()) co_return status;
            ++status.pages;
            std::vector<feed::feed_entry> entries;
            entries.reserve(events->size());
            for (const auto& e : *events) entries.push_back(entry_of(e));
            if (ahead) ahead(entries);
            for (std::size_t i = 0; i < events->size(); ++i) {
                const auto& e = (*events)[i];
                const feed::feed_entry& entry = entries[i];
                const store::marker next{key, entry.id, key + "/" + std::to_string(e.id)};
                error_code ec = co_await process(entry, next);
                if (ec == feed::entry_skipped()) ec = co_await st_.set_marker(next);
                if (ec) {
                    status.error = ec;
                    status.detail = "entry " + entry.id;
                    co_return status;
                }
                ++status.processed;
                after = e.id;
            }
        }
    }

    static get_result result_of(const resource_ref& r, store::result<std::optional<store::stored_resource>> got) {
        get_result out;
        if (!got) {
            out.ec = got.error();
            out.detail = "read " + r.key.type + "/" + r.key.uuid;
            return out;
        }
        if (!*got) return out;
        auto& s = **got;
        out.resource.state = s.deleted ? presence::deleted : presence::present;
        out.resource.body = std::move(s.body);
        out.resource.version = std::to_string(s.version);
        out.resource.last_updated = s.last_updated;
        out.resource.origin_node = std::move(s.origin_node);
        out.resource.arrived_from = std::move(s.arrived_from);
        out.resource.fingerprint = s.deleted ? "deleted" : std::move(s.fingerprint);
        return out;
    }

    asio::awaitable<get_result> get(resource_ref r) override {
        auto job = [key = r.key](store::sql::connection& db) { return store::get_resource(db, key); };
        auto got = co_await st_.read<std::optional<store::stored_resource>>(std::move(job));
        co_return result_of(r, std::move(got));
    }

    // All of them in one store read (one trip to a reader thread, not one per resource).
    asio::awaitable<void> get_each(std::vector<resource_ref> refs, get_handler each) override {
        using one = store::result<std::optional<store::stored_resource>>;
        auto job = [refs](store::sql::connection& db) -> store::result<std::vector<one>> {
            std::vector<one> all;
            all.reserve(refs.size());
            for (const auto& r : refs) all.push_back(store::get_resource(db, r.key));
            return all;
        };
        auto got = co_await st_.read<std::vector<one>>(std::move(job));
        for (std::size_t i = 0; i < refs.size(); ++i)
            each(i, result_of(refs[i], got ? std::move((*got)[i]) : one(boost::system::in_place_error, got.error())));
    }

    asio::awaitable<apply_result> apply(change c) override {
        apply_result out;
        store::resource_write w;
        w.category = c.ref.category;
        w.key = c.ref.key;
        w.deleted = c.remove;
        w.origin_node = c.origin_node;
        w.arrived_from = c.arrived_from;
        if (c.remove) {
            w.fingerprint = "deleted";
        } else if (!c.fingerprint.empty()) {
            // The caller parsed it (change::fingerprint's invariant).
            w.fingerprint = std::move(c.fingerprint);
            w.body = std::move(c.body);
        } else {
            error_code pe;
            json::value v = json::parse(c.body, pe);
            if (pe || !v.is_object()) {
                out.ec = errc::refused;
                out.detail = c.ref.key.type + "/" + c.ref.key.uuid + ": the body is not a JSON object";
                co_return out;
            }
            w.fingerprint = sync::fingerprint(v);
            w.body = std::move(c.body);
        }
        store::event_spec ev{c.ref.key.representation == "fhir" ? c.ref.key.type : c.ref.category, links_of(c.ref), "", c.action};
        store::result<store::write_result> done;
        // The audit row, if any, commits with the change.
        auto with_audit = [](store::write_context& ctx, store::result<store::write_result> r,
                             const std::optional<store::audit_entry>& audit) -> store::result<store::write_result> {
            if (!r || !audit) return r;
            store::audit_entry a = *audit;
            a.at = ctx.now();
            if (a.action.empty()) a.action = store::to_string(r->outcome);
            if (auto id = store::append_audit(ctx.db(), a); !id) return store::result<store::write_result>(boost::system::in_place_error, id.error());
            return r;
        };
        std::shared_ptr<store::write_chain> chain = std::move(c.chain);
        if (c.then_marker) {
            store::pulled_change pc{std::move(w), std::move(ev), c.arrived_from, std::move(*c.then_marker)};
            auto job = [pc = std::move(pc), audit = std::move(c.audit), with_audit](store::write_context& ctx) {
                return with_audit(ctx, store::apply_pulled(ctx.db(), pc, ctx.new_uuid(), ctx.now()), audit);
            };
            if (chain) done = co_await st_.write_chained<store::write_result>(std::move(chain), std::move(job));
            else done = co_await st_.write<store::write_result>(std::move(job));
        } else {
            auto job = [w = std::move(w), ev = std::move(ev), audit = std::move(c.audit), with_audit](store::write_context& ctx) {
                return with_audit(ctx, store::write_resource(ctx.db(), w, ev, ctx.new_uuid(), ctx.now()), audit);
            };
            if (chain) done = co_await st_.write_chained<store::write_result>(std::move(chain), std::move(job));
            else done = co_await st_.write<store::write_result>(std::move(job));
        }
        if (!done) {
            out.ec = done.error();
            out.detail = c.ref.key.type + "/" + c.ref.key.uuid + ": " + done.error().message();
            co_return out;
        }
        out.outcome = done->outcome;
        co_return out;
    }

private:
    // The feed entry content for a change: the openmrs-module-atomfeed JSON map of links.
    std::string links_of(const resource_ref& r) const {
        // Only the representation written: the other one is another row (see api/fhir.hpp).
        json::object links;
        if (r.key.representation == "fhir") links["fhir"] = p_.fhir_base + "/" + r.key.type + "/" + r.key.uuid;
        else links["rest"] = p_.rest_base + "/" + r.key.type + "/" + r.key.uuid + "?v=full";
        return json::serialize(links);
    }

    store::store& st_;
    embedded_params p_;
};

}  // namespace

std::unique_ptr<local_backend> make_embedded_backend(store::store& st, embedded_params p) {
    return std::make_unique<embedded_backend>(st, std::move(p));
}

}  // namespace edgesync::backend
