fn main() {
    let lock = {
        let mut mem = vcsm::SharedMemory::new(16, "x").unwrap();
        mem.lock().unwrap()
    };
    drop(lock);
}
