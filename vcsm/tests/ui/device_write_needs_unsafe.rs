// The device side of the emulated memory can write behind a live `Lock` or
// an MMAL frame's slice: only the software VideoCore may call it, in `unsafe`.
fn main() {
    let mem = vcsm::SharedMemory::new(16, "x").unwrap();
    let handle = mem.vc_handle().get();
    vcsm::emulated::write(handle, 0, b"x").unwrap();
    vcsm::emulated::begin_cpu(handle).unwrap();
    vcsm::emulated::end_cpu(handle).unwrap();
}
