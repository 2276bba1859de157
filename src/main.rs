//! The `gradflow` command: parses the command line and hands it to gradflow-study.

/// mimalloc instead of the system allocator: see the workspace's Cargo.toml, and
/// docs/performance.md, "Allocation".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(gradflow::study::app::main_with_args(std::env::args_os()));
}
