//! The `gradflow` command: parses the command line and hands it to gradflow-study.

fn main() {
    std::process::exit(gradflow::study::app::main_with_args(std::env::args_os()));
}
