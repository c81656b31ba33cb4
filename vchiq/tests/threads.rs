//! The handles may cross threads; many threads may use one service.

mod common;

use common::*;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn handles_are_send_and_sync() {
    assert_send_sync::<vchiq::Connection>();
    assert_send_sync::<vchiq::Service>();
    assert_send_sync::<vchiq::BulkTransfer>();
    assert_send_sync::<vchiq::UseGuard>();
    assert_send_sync::<vchiq::Error>();
}

#[test]
fn many_threads_share_one_service() {
    let vc = FakeVc::new();
    vc.set_firmware(echo_firmware);
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    std::thread::scope(|scope| {
        for t in 0..8u32 {
            let s = &s;
            scope.spawn(move || {
                for i in 0..50u32 {
                    let context = t * 1000 + i;
                    let payload = context.to_le_bytes();
                    let reply = s.request(&[&message(REQUEST, context, &payload)], context).unwrap();
                    assert_eq!(reply, message(REPLY, context, &payload));
                    let data = vec![t as u8; 16];
                    assert_eq!(s.bulk_transmit(data.clone()).unwrap().wait().unwrap(), data);
                }
            });
        }
    });
    assert_eq!(vc.uses(s.handle()), 0);
    assert_eq!(vc.received().len(), 400);
}
