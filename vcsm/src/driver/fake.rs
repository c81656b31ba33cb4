//! A fake kernel for driver tests: records every ioctl byte for byte and
//! answers through a closure, as the real driver would.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::{Arc, Mutex};

use crate::sys::Ioctl;

#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) fd: RawFd,
    pub(crate) request: u32,
    /// What the kernel would read.
    pub(crate) sent: Vec<u8>,
}

type Handler = Box<dyn FnMut(u32, &mut [u8]) -> io::Result<()> + Send>;

pub(crate) struct FakeDevice {
    calls: Arc<Mutex<Vec<Call>>>,
    handler: Mutex<Handler>,
}

impl FakeDevice {
    pub(crate) fn new(handler: impl FnMut(u32, &mut [u8]) -> io::Result<()> + Send + 'static) -> FakeDevice {
        FakeDevice { calls: Arc::default(), handler: Mutex::new(Box::new(handler)) }
    }

    pub(crate) fn calls(&self) -> Arc<Mutex<Vec<Call>>> {
        self.calls.clone()
    }
}

impl Ioctl for FakeDevice {
    fn ioctl(&self, fd: BorrowedFd<'_>, request: u32, arg: &mut [u8]) -> io::Result<()> {
        self.calls.lock().unwrap().push(Call { fd: fd.as_raw_fd(), request, sent: arg.to_vec() });
        (self.handler.lock().unwrap())(request, arg)
    }
}
