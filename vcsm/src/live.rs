//! Which memory objects this process maps as a [`SharedMemory`](crate::SharedMemory),
//! so that no object is mapped twice: two blocks over the same pages would
//! let one [`Lock`](crate::Lock) hand out `&mut [u8]` while another hands
//! out `&[u8]` to the same bytes.
//!
//! An object is known by the identity (device, inode) of the file behind a
//! descriptor of it: every `dup` (what `export_dmabuf` returns) has the same
//! one, and so has the descriptor an emulated import keeps. A vc-sm-cma
//! import gets a new dma-buf that wraps the one it was given, so an imported
//! block claims both identities. Each dma-buf has an inode of its own since
//! Linux 5.3 (vc-sm-cma came with 5.4); before that they shared one
//! anonymous inode, which tells nothing apart, and such descriptors are not
//! checked (`sys::file_id` answers `None`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::sys::FileId;
use crate::{Error, Result, VcHandle};

/// The block that claimed an identity.
#[derive(Debug)]
struct Owner {
    /// `None` while an import is in progress.
    handle: Option<VcHandle>,
    name: String,
}

static LIVE: Mutex<BTreeMap<FileId, Owner>> = Mutex::new(BTreeMap::new());

/// The identities one block holds; given up on drop.
#[derive(Debug, Default)]
pub(crate) struct Claim {
    ids: Vec<FileId>,
}

impl Claim {
    /// Claims `id` (if known) for the block `handle` named `name`, unless a
    /// live block (or an import in progress) holds it already. Claiming an
    /// identity this claim holds just records the handle.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyMapped`], naming the block that holds it.
    pub(crate) fn take(&mut self, id: Option<FileId>, handle: Option<VcHandle>, name: &str) -> Result<()> {
        let Some(id) = id else { return Ok(()) };
        let mut live = crate::lock(&LIVE);
        if self.ids.contains(&id) {
            if let Some(owner) = live.get_mut(&id) {
                owner.handle = owner.handle.or(handle);
            }
            return Ok(());
        }
        if let Some(owner) = live.get(&id) {
            return Err(Error::AlreadyMapped { handle: owner.handle.map(VcHandle::get), name: owner.name.clone() });
        }
        live.insert(id, Owner { handle, name: name.to_owned() });
        self.ids.push(id);
        Ok(())
    }

    /// Records the handle of the block an import made.
    pub(crate) fn set_handle(&self, handle: VcHandle) {
        let mut live = crate::lock(&LIVE);
        for id in &self.ids {
            if let Some(owner) = live.get_mut(id) {
                owner.handle = Some(handle);
            }
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.ids.is_empty() {
            return;
        }
        let mut live = crate::lock(&LIVE);
        for id in &self.ids {
            live.remove(id);
        }
    }
}
