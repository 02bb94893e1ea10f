#include "testbed.hpp"
