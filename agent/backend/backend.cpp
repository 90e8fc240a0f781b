#include "agent/backend/backend.hpp"

#include "store/error.hpp"

namespace edgesync::backend {
namespace {

class backend_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "edgesync.backend"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::refused: return "the backend refused the record";
        case errc::unauthorized: return "the backend refused the credentials";
        case errc::unavailable: return "the backend is unavailable";
        case errc::bad_response: return "the backend's answer is not what its API returns";
        }
        return "unknown backend error";
    }
};

}  // namespace

const boost::system::error_category& backend_category() noexcept {
    static const backend_category_impl c;
    return c;
}

boost::asio::awaitable<void> local_backend::get_each(std::vector<resource_ref> refs, get_handler each) {
    for (std::size_t i = 0; i < refs.size(); ++i) {
        auto one = co_await get(std::move(refs[i]));
        each(i, std::move(one));
    }
}

boost::asio::awaitable<std::vector<get_result>> local_backend::get_many(std::vector<resource_ref> refs) {
    std::vector<get_result> out(refs.size());
    auto collect = [&out](std::size_t i, get_result g) { out[i] = std::move(g); };
    co_await get_each(std::move(refs), collect);
    co_return out;
}

boost::asio::awaitable<std::vector<apply_result>> local_backend::apply_many(std::vector<change> changes) {
    std::vector<apply_result> out;
    out.reserve(changes.size());
    for (auto& c : changes) {
        auto one = co_await apply(std::move(c));
        out.push_back(std::move(one));
    }
    co_return out;
}

bool is_record_failure(const boost::system::error_code& ec) noexcept {
    // The store's own per-job refusals concern the record, not the store; a disk or queue
    // problem concerns every record and stops the run.
    return ec == errc::refused || ec == store::errc::bad_input || ec == store::errc::constraint ||
           ec == store::errc::version_mismatch;
}

}  // namespace edgesync::backend
