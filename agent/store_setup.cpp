#include "agent/store_setup.hpp"

namespace edgesync::agent {

std::string store_path(const config::node_config& cfg) { return cfg.data_dir + "/edgesync.db"; }

store::store_options store_options(const config::node_config& cfg) {
    store::store_options o;
    o.path = store_path(cfg);
    o.cache_bytes = cfg.store.cache_bytes;
    o.synchronous_full = cfg.store.synchronous == config::sync_mode::full;
    switch (cfg.store.integrity_check) {
        case config::integrity_mode::quick: o.integrity = store::store_options::check::quick; break;
        case config::integrity_mode::full: o.integrity = store::store_options::check::full; break;
        case config::integrity_mode::off: o.integrity = store::store_options::check::off; break;
    }
    o.max_batch = cfg.store.max_batch;
    o.instance_id = cfg.instance_id;
    return o;
}

store::retention_policy retention_policy(const config::node_config& cfg) {
    store::retention_policy p;
    p.audit_max_age = cfg.audit.retention.count();
    p.audit_max_rows = static_cast<std::int64_t>(cfg.store.audit_max_rows);
    p.retry_log_max_age = cfg.store.retry_log_retention.count();
    p.tombstone_max_age = cfg.store.tombstone_retention.count();
    return p;
}

store::retry_policy retry_policy(const config::node_config& cfg) {
    store::retry_policy p;
    p.queue_cap = cfg.retry.queue_cap;
    p.max_attempts = cfg.retry.max_attempts;
    p.backoff_initial = cfg.retry.backoff_initial.count();
    p.backoff_max = cfg.retry.backoff_max.count();
    return p;
}

}  // namespace edgesync::agent
