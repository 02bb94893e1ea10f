# Fails when README.md's example is not examples/forward_api.cpp verbatim.
# -D ROOT=<source dir>
file(READ ${ROOT}/README.md readme)
file(READ ${ROOT}/examples/forward_api.cpp example)
string(FIND "${readme}" "```cpp\n${example}```" at)
if(at EQUAL -1)
  message(FATAL_ERROR "README.md's example differs from examples/forward_api.cpp: copy the file into the README")
endif()
