// A fresh directory under $TMPDIR (or /tmp) for one test, removed with everything in it when the
// object goes out of scope.
#pragma once

#include <string>

namespace edgesync::test {

class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::string& path() const noexcept { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }
    // Writes `content` to name (mode 0600 unless given) and returns the full path.
    std::string write(const std::string& name, const std::string& content, unsigned mode = 0600) const;

private:
    std::string path_;
};

// The whole file, bytes as they are (fixtures, outputs). Throws std::runtime_error naming the file
// when it cannot be read, which fails the test that asked.
std::string read_file(const std::string& path);

}  // namespace edgesync::test
