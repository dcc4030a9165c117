//! Marks this crate's documentation tests, so that the README's client example (gated
//! on `socketio_client_readme`) is compiled here and skipped by the other crates that
//! test the same README.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(socketio_client_readme)");
    println!("cargo::rustc-cfg=socketio_client_readme");
}
