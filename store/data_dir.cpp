#include "store/data_dir.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace edgesync::store {

data_dir_lock::~data_dir_lock() {
    if (fd_ >= 0) ::close(fd_);  // releases the flock
}

data_dir_lock& data_dir_lock::operator=(data_dir_lock&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.fd_;
        path_ = std::move(o.path_);
        o.fd_ = -1;
    }
    return *this;
}

data_dir_lock claim_data_dir(const std::string& dir, boost::system::error_code& ec, std::string& what) {
    data_dir_lock lock;
    ec.clear();
    for (std::size_t pos = 0; pos != std::string::npos;) {
        pos = dir.find('/', pos + 1);
        const std::string partial = dir.substr(0, pos);
        if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
            ec.assign(errno, boost::system::system_category());
            what = "create " + partial;
            return lock;
        }
    }
    const std::string lock_path = dir + "/edgesync.lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        ec.assign(errno, boost::system::system_category());
        what = "open " + lock_path;
        return lock;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ec.assign(errno, boost::system::system_category());
        what = "lock " + lock_path + ": in use by another edgesync process";
        ::close(fd);
        return lock;
    }
    lock.fd_ = fd;
    lock.path_ = dir;
    return lock;
}

}  // namespace edgesync::store
