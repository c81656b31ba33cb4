fn main() {
    let mut mem = vcsm::SharedMemory::new(16, "x").unwrap();
    let lock = mem.lock().unwrap();
    mem.copy_from_slice(&[1]).unwrap();
    drop(lock);
}
