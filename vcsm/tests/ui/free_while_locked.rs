fn main() {
    let mut mem = vcsm::SharedMemory::new(16, "x").unwrap();
    let lock = mem.lock().unwrap();
    drop(mem);
    drop(lock);
}
