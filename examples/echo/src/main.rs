//! `cargo run --release -p example-echo -- --port P [--ping-interval MS --ping-timeout MS
//! --connect-timeout MS --max-payload BYTES --recovery MS]`

use example_echo::{Options, builder, custom_namespace, main_namespace, mount, run};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (options, port) = Options::from_args(std::env::args().skip(1))?;
    run(port, || async {
        let (app, _io) = mount(builder(&options), main_namespace(), custom_namespace())?;
        Ok(app)
    })
}
