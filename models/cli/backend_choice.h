// Creating the backend named on the command line.
#pragma once

#include <memory>
#include <string>

#include "core/backend.h"

namespace braid::cli {

// "cpu" (the reference backend). Other names are refused with a one-line error that lists
// what this build offers.
std::unique_ptr<Backend> make_backend(const std::string& name);

}  // namespace braid::cli
