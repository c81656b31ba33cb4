// A lens shading parameter names its table by VideoCore handle: it must not
// outlive the block that holds the table.
use mmal::params::LensShading;
use mmal::vcsm::SharedMemory;

fn main() {
    let memory = SharedMemory::new(4096, "ls_grid").unwrap();
    let parameter = LensShading::new(&memory, 52, 39).unwrap();
    drop(memory);
    let _ = parameter.grid();
}
