// braid — hybrid Transformer / Mamba / MoE language models from config.
#include <cstdio>
#include <exception>

#include "core/status.h"
#include "models/cli/cli.h"

int main(int argc, char** argv) {
  CLI::App app{"braid: hybrid Transformer / Mamba / MoE language models (Jamba, Bamba, Mamba, Mamba2)"};
  app.set_version_flag("--version", std::string("braid ") + BRAID_VERSION);
  app.require_subcommand(1);
  braid::cli::add_ablate(app);
  braid::cli::add_bench(app);
  braid::cli::add_describe(app);
  braid::cli::add_forward(app);
  braid::cli::add_generate(app);
  braid::cli::add_grad(app);
  braid::cli::add_tokenize(app);
  braid::cli::add_train(app);
  braid::cli::add_init(app);
  braid::cli::add_parity(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const braid::Error& e) {
    std::fprintf(stderr, "braid: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "braid: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
