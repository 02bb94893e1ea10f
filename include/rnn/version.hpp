// rnn/version.hpp: the library's version (CMakeLists.txt reads it from here).
#pragma once

#define RNN_VERSION_MAJOR 0
#define RNN_VERSION_MINOR 1
#define RNN_VERSION_PATCH 0

namespace rnn {
// "MAJOR.MINOR.PATCH"
const char* version() noexcept;
}  // namespace rnn
