//! The `gradflow` command.
fn main() {
    println!("gradflow");
}
