//! Pins every request number, struct size and field offset to the figures in
//! research/vcsm-abi.md §1 and §5, for the target under test: the armv7
//! column on 32-bit ARM, the 64-bit column elsewhere.

use std::mem::{align_of, offset_of, size_of};

use vcsm_sys::*;

/// Picks the expected figure for the target under test.
const fn abi(arm: usize, lp64: usize) -> usize {
    if cfg!(target_arch = "arm") {
        arm
    } else {
        lp64
    }
}

macro_rules! pin_struct {
    ($ty:ident, size = ($arm:expr, $lp64:expr), { $($field:ident @ ($farm:expr, $flp64:expr)),* $(,)? }) => {{
        assert_eq!(size_of::<$ty>(), abi($arm, $lp64), concat!("size of ", stringify!($ty)));
        $(
            assert_eq!(
                offset_of!($ty, $field),
                abi($farm, $flp64),
                concat!("offset of ", stringify!($ty), "::", stringify!($field))
            );
        )*
    }};
}

#[test]
fn cma_structs() {
    pin_struct!(vc_sm_cma_ioctl_alloc, size = (64, 64), {
        size @ (0, 0), num @ (4, 4), cached @ (8, 8), pad @ (12, 12), name @ (16, 16),
        handle @ (48, 48), vc_handle @ (52, 52), dma_addr @ (56, 56),
    });
    pin_struct!(vc_sm_cma_ioctl_import_dmabuf, size = (64, 64), {
        dmabuf_fd @ (0, 0), cached @ (4, 4), name @ (8, 8), handle @ (40, 40),
        vc_handle @ (44, 44), size @ (48, 48), pad @ (52, 52), dma_addr @ (56, 56),
    });
    pin_struct!(vc_sm_cma_ioctl_clean_invalid2, size = (8, 8), {
        op_count @ (0, 0), pad @ (4, 4), s @ (8, 8),
    });
    pin_struct!(vc_sm_cma_ioctl_clean_invalid_block, size = (20, 24), {
        invalidate_mode @ (0, 0), block_count @ (4, 4), start_address @ (8, 8),
        block_size @ (12, 16), inter_block_stride @ (16, 20),
    });
    // The u64 makes both CMA structs 8-aligned on armhf (EABI) and LP64.
    assert_eq!(align_of::<vc_sm_cma_ioctl_alloc>(), 8);
    assert_eq!(align_of::<vc_sm_cma_ioctl_import_dmabuf>(), 8);
}

#[test]
fn legacy_structs() {
    pin_struct!(vmcs_sm_ioctl_alloc, size = (48, 48), {
        size @ (0, 0), num @ (4, 4), cached @ (8, 8), name @ (12, 12), handle @ (44, 44),
    });
    pin_struct!(vmcs_sm_ioctl_alloc_share, size = (8, 8), { handle @ (0, 0), size @ (4, 4) });
    pin_struct!(vmcs_sm_ioctl_free, size = (4, 4), { handle @ (0, 0) });
    pin_struct!(vmcs_sm_ioctl_lock_unlock, size = (8, 8), { handle @ (0, 0), addr @ (4, 4) });
    pin_struct!(vmcs_sm_ioctl_lock_cache, size = (8, 8), { handle @ (0, 0), cached @ (4, 4) });
    pin_struct!(vmcs_sm_ioctl_resize, size = (12, 12), {
        handle @ (0, 0), new_size @ (4, 4), old_size @ (8, 8),
    });
    pin_struct!(vmcs_sm_ioctl_map, size = (16, 16), {
        pid @ (0, 0), handle @ (4, 4), addr @ (8, 8), size @ (12, 12),
    });
    pin_struct!(vmcs_sm_ioctl_walk, size = (4, 4), { pid @ (0, 0) });
    pin_struct!(vmcs_sm_ioctl_chk, size = (16, 16), {
        handle @ (0, 0), addr @ (4, 4), size @ (8, 8), cache @ (12, 12),
    });
    pin_struct!(vmcs_sm_ioctl_size, size = (8, 8), { handle @ (0, 0), size @ (4, 4) });
    pin_struct!(vmcs_sm_ioctl_cache, size = (12, 12), {
        handle @ (0, 0), addr @ (4, 4), size @ (8, 8),
    });
    pin_struct!(vmcs_sm_ioctl_clean_invalid_entry, size = (16, 16), {
        cmd @ (0, 0), handle @ (4, 4), addr @ (8, 8), size @ (12, 12),
    });
    pin_struct!(vmcs_sm_ioctl_clean_invalid, size = (128, 128), { s @ (0, 0) });
    pin_struct!(vmcs_sm_ioctl_clean_invalid2, size = (4, 8), {
        op_count @ (0, 0), zero @ (1, 1), s @ (4, 8),
    });
    pin_struct!(vmcs_sm_ioctl_clean_invalid_block, size = (16, 24), {
        invalidate_mode @ (0, 0), block_count @ (2, 2), start_address @ (4, 8),
        block_size @ (8, 16), inter_block_stride @ (12, 20),
    });
    pin_struct!(vmcs_sm_ioctl_import_dmabuf, size = (44, 44), {
        dmabuf_fd @ (0, 0), cached @ (4, 4), name @ (8, 8), handle @ (40, 40),
    });
    // The cache enum is a 4-byte field under both ABIs.
    assert_eq!(size_of::<vmcs_sm_cache_e>(), 4);
}

#[test]
fn dma_buf_struct() {
    pin_struct!(dma_buf_sync, size = (8, 8), { flags @ (0, 0) });
    assert_eq!(align_of::<dma_buf_sync>(), 8);
}

#[test]
fn cma_request_numbers() {
    assert_eq!(VC_SM_CMA_IOCTL_MEM_ALLOC, 0x8040_4A5A);
    assert_eq!(VC_SM_CMA_IOCTL_MEM_IMPORT_DMABUF, 0x8040_4A5B);
    assert_eq!(VC_SM_CMA_IOCTL_MEM_CLEAN_INVALID2, 0x8008_4A5C);
}

#[test]
fn legacy_request_numbers() {
    let table: &[(u32, u32)] = &[
        (VMCS_SM_IOCTL_MEM_ALLOC, 0x8030_495A),
        (VMCS_SM_IOCTL_MEM_ALLOC_SHARE, 0x8008_495B),
        (VMCS_SM_IOCTL_MEM_LOCK, 0x8008_495C),
        (VMCS_SM_IOCTL_MEM_LOCK_CACHE, 0x8008_495D),
        (VMCS_SM_IOCTL_MEM_UNLOCK, 0x8008_495E),
        (VMCS_SM_IOCTL_MEM_RESIZE, 0x800C_495F),
        (VMCS_SM_IOCTL_MEM_FREE, 0x8004_4961),
        (VMCS_SM_IOCTL_MEM_FLUSH, 0x800C_4962),
        (VMCS_SM_IOCTL_MEM_INVALID, 0x800C_4963),
        (VMCS_SM_IOCTL_SIZE_USR_HDL, 0x8008_4964),
        (VMCS_SM_IOCTL_CHK_USR_HDL, 0x8010_4965),
        (VMCS_SM_IOCTL_MAP_USR_HDL, 0x8010_4966),
        (VMCS_SM_IOCTL_MAP_USR_ADDRESS, 0x8010_4967),
        (VMCS_SM_IOCTL_MAP_VC_HDL_FR_ADDR, 0x8010_4968),
        (VMCS_SM_IOCTL_MAP_VC_HDL_FR_HDL, 0x8010_4969),
        (VMCS_SM_IOCTL_MAP_VC_ADDR_FR_HDL, 0x8010_496A),
        (VMCS_SM_IOCTL_VC_WALK_ALLOC, 0x0000_496B),
        (VMCS_SM_IOCTL_HOST_WALK_MAP, 0x0000_496C),
        (VMCS_SM_IOCTL_HOST_WALK_PID_ALLOC, 0x8004_496D),
        (VMCS_SM_IOCTL_HOST_WALK_PID_MAP, 0x8004_496E),
        (VMCS_SM_IOCTL_MEM_CLEAN_INVALID, 0x8080_496F),
        (VMCS_SM_IOCTL_MEM_CLEAN_INVALID2, abi(0x8004_4970, 0x8008_4970) as u32),
        (VMCS_SM_IOCTL_MEM_IMPORT_DMABUF, 0x802C_4971),
    ];
    for (i, &(actual, expected)) in table.iter().enumerate() {
        assert_eq!(actual, expected, "legacy request #{i}: {actual:#010X} != {expected:#010X}");
    }
}

#[test]
fn dma_buf_request_number_and_flags() {
    assert_eq!(DMA_BUF_IOCTL_SYNC, 0x4008_6200);
    assert_eq!(DMA_BUF_SYNC_READ, 1);
    assert_eq!(DMA_BUF_SYNC_WRITE, 2);
    assert_eq!(DMA_BUF_SYNC_RW, 3);
    assert_eq!(DMA_BUF_SYNC_START, 0);
    assert_eq!(DMA_BUF_SYNC_END, 4);
    assert_eq!(DMA_BUF_SYNC_VALID_FLAGS_MASK, 7);
}

#[test]
fn constants() {
    assert_eq!(VC_SM_CMA_RESOURCE_NAME, 32);
    assert_eq!(VMCS_SM_RESOURCE_NAME, 32);
    assert_eq!((VC_SM_CMA_CACHE_NONE, VC_SM_CMA_CACHE_HOST, VC_SM_CMA_CACHE_VC, VC_SM_CMA_CACHE_BOTH), (0, 1, 2, 3));
    assert_eq!((VMCS_SM_CACHE_NONE, VMCS_SM_CACHE_HOST, VMCS_SM_CACHE_VC, VMCS_SM_CACHE_BOTH), (0, 1, 2, 3));
    assert_eq!((VC_SM_CACHE_OP_NOP, VC_SM_CACHE_OP_INV, VC_SM_CACHE_OP_CLEAN, VC_SM_CACHE_OP_FLUSH), (0, 1, 2, 3));
}

#[test]
fn ioc_encoding() {
    // _IOC(dir, type, nr, size) = dir << 30 | size << 16 | type << 8 | nr
    assert_eq!(ioc(IOC_READ | IOC_WRITE, b'x', 0x12, 0x34), 0xC034_7812);
    assert_eq!(io(b'I', 0x6B), 0x496B);
    assert_eq!(iow::<u64>(b'b', 0), 0x4008_6200);
    assert_eq!(ior::<[u8; 16383]>(b'J', 0xFF), 0xBFFF_4AFF);
}
