#include "agent/feed/fetch.hpp"

#include <boost/system/errc.hpp>

namespace edgesync::feed {

boost::asio::awaitable<fetched_page> fetch_page(net::http_client& client, std::string url, std::string authorization,
                                                reader_limits limits) {
    fetched_page out;
    atom_reader reader(limits, [&out](feed_entry&& e) { out.entries.push_back(std::move(e)); });
    std::string error_body;  // a non-200 answer's first bytes, to recognise OpenMRS's phrases
    net::client_request req;
    req.url = std::move(url);
    req.authorization = std::move(authorization);
    req.headers.set(boost::beast::http::field::accept, "application/atom+xml");
    auto on_head = [&out](const net::response_head& h) -> boost::system::error_code {
        out.status = h.status;
        return {};
    };
    auto on_body = [&](std::string_view piece) -> boost::system::error_code {
        if (out.status != 200) {
            if (error_body.size() < 4096) error_body.append(piece.substr(0, 4096 - error_body.size()));
            return {};
        }
        return reader.feed(piece);
    };
    out.ec = co_await client.request_stream(std::move(req), std::move(on_head), std::move(on_body));
    if (out.ec) {
        out.detail = reader.error_detail().empty() ? out.ec.message() : reader.error_detail();
        co_return out;
    }
    if (out.status == 404 || (out.status == 500 && error_body.find("feed does not exist") != std::string::npos)) {
        out.missing = true;
        co_return out;
    }
    if (out.status != 200) {
        out.ec = make_error_code(boost::system::errc::protocol_error);
        out.detail = "HTTP " + std::to_string(out.status) + ": " + error_body.substr(0, 200);
        co_return out;
    }
    out.ec = reader.finish();
    out.detail = reader.error_detail();
    out.header = reader.header();
    co_return out;
}

}  // namespace edgesync::feed
