// models/cli — the `braid` command line: one binary, one file per subcommand. This is the
// only code that reads argv; options become plain structs passed to the library.
#pragma once

#include <CLI/CLI.hpp>

namespace braid::cli {

// Each registers its subcommand on `app`; the callback runs it and may throw braid::Error.
void add_ablate(CLI::App& app);
void add_bench(CLI::App& app);
void add_describe(CLI::App& app);
void add_forward(CLI::App& app);
void add_generate(CLI::App& app);
void add_grad(CLI::App& app);
void add_init(CLI::App& app);
void add_parity(CLI::App& app);
void add_tokenize(CLI::App& app);
void add_train(CLI::App& app);


}  // namespace braid::cli
