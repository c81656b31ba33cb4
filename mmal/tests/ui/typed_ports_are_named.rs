// A misspelt port, or a port by index, does not compile on the typed
// components.
use mmal::components::{CameraComponent, Splitter};

fn main() {
    let camera = CameraComponent::new().unwrap();
    let _still = camera.stil();
    let splitter = Splitter::new().unwrap();
    let _fifth = splitter.output(4);
}
