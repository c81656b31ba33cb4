//! Opening and closing services, requests and transfers leave no thread
//! and no use of the VideoCore behind. (One test in this binary, so that
//! the process's thread count is this test's.)

mod common;

use common::*;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

#[test]
fn service_cycles_leave_no_thread_or_use() {
    let vc = FakeVc::new();
    vc.set_firmware(echo_firmware);
    let before = threads();
    let c = connect(&vc);
    assert_eq!(threads(), before + 1, "one completion thread");
    for i in 0..50u32 {
        let s = c.open_service(echo_options()).unwrap();
        s.request(&[&message(REQUEST, i, b"")], i).unwrap();
        s.bulk_transmit(vec![1; 16]).unwrap().wait().unwrap();
        assert_eq!(vc.uses(s.handle()), 0);
        if i % 2 == 0 {
            s.close().unwrap();
        } else {
            drop(s);
        }
    }
    // Closing joins its helper thread; what remains is the completion thread
    // (the kernel may list a joined thread for a moment longer).
    wait_until("the close helpers to be gone", || threads() == before + 1);
    drop(c);
    wait_until("the completion thread to be gone", || threads() == before);
    assert_eq!(vc.count("CLOSE_SERVICE"), 50);
    assert_eq!(vc.count("CLOSE_DELIVERED"), 50);
}
