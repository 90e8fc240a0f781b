// The node's data directory: created with mode 0700 (it holds patient data) and claimed with an
// exclusive advisory lock for the life of the process, so two nodes can never open one store.
#pragma once

#include <boost/system/error_code.hpp>

#include <string>

namespace edgesync::store {

class data_dir_lock {
public:
    data_dir_lock() = default;
    ~data_dir_lock();
    data_dir_lock(data_dir_lock&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
    data_dir_lock& operator=(data_dir_lock&& o) noexcept;
    data_dir_lock(const data_dir_lock&) = delete;
    data_dir_lock& operator=(const data_dir_lock&) = delete;

    bool held() const noexcept { return fd_ >= 0; }
    const std::string& path() const noexcept { return path_; }

private:
    friend data_dir_lock claim_data_dir(const std::string&, boost::system::error_code&, std::string&);
    int fd_ = -1;
    std::string path_;
};

// Creates `dir` (and missing parents) and locks it. On failure returns an unheld lock, sets ec
// and puts in `what` which step failed ("create /x", "lock /x/edgesync.lock: in use by another
// process").
data_dir_lock claim_data_dir(const std::string& dir, boost::system::error_code& ec, std::string& what);

}  // namespace edgesync::store
