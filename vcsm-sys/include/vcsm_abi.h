/*
 * VideoCore shared memory: the kernel ABI that the `vcsm` crate speaks.
 *
 * Written for this project from the facts recorded in research/vcsm-abi.md
 * (field order, types, sizes).  It is the input of `cargo xtask bindgen`,
 * which turns it into `src/bindings/{arm,lp64}.rs`; nothing includes it at
 * build time.  Request numbers are computed in Rust (src/ioctl.rs) because
 * bindgen cannot evaluate the kernel's _IOC macros.
 *
 * The header is self-contained so that clang needs no sysroot for any
 * target.
 */
#ifndef VCSM_ABI_H
#define VCSM_ABI_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef unsigned long long __u64;

/* ---------------------------------------------------------------------
 * Shared by both drivers
 * ------------------------------------------------------------------- */

/* Length of the allocation name on the wire, NUL included. */
#define VC_SM_CMA_RESOURCE_NAME 32
#define VMCS_SM_RESOURCE_NAME 32

/* Cache operations for CLEAN_INVALID / CLEAN_INVALID2. */
#define VC_SM_CACHE_OP_NOP 0
#define VC_SM_CACHE_OP_INV 1
#define VC_SM_CACHE_OP_CLEAN 2
#define VC_SM_CACHE_OP_FLUSH 3

/* ---------------------------------------------------------------------
 * CMA driver, /dev/vcsm-cma, ioctl magic 'J'
 * ------------------------------------------------------------------- */

#define VC_SM_CMA_IOCTL_MAGIC 'J'

/* Command numbers (the _IOC "nr" field). */
#define VC_SM_CMA_CMD_ALLOC 0x5A
#define VC_SM_CMA_CMD_IMPORT_DMABUF 0x5B
#define VC_SM_CMA_CMD_CLEAN_INVALID2 0x5C

/* Cache type requested at allocation (the CMA driver ignores it). */
enum vc_sm_cma_cache_e {
	VC_SM_CMA_CACHE_NONE = 0,
	VC_SM_CMA_CACHE_HOST = 1,
	VC_SM_CMA_CACHE_VC = 2,
	VC_SM_CMA_CACHE_BOTH = 3,
};

/* ALLOC: in = size, num, cached, name; out = handle (a dma-buf fd),
 * vc_handle (VideoCore MEM_HANDLE), dma_addr (VideoCore bus address). */
struct vc_sm_cma_ioctl_alloc {
	__u32 size;
	__u32 num;
	__u32 cached;
	__u32 pad;
	char name[VC_SM_CMA_RESOURCE_NAME];
	__s32 handle;
	__u32 vc_handle;
	__u64 dma_addr;
};

/* IMPORT_DMABUF: in = dmabuf_fd, cached, name; out = handle (a new
 * dma-buf fd), vc_handle, size, dma_addr. */
struct vc_sm_cma_ioctl_import_dmabuf {
	__s32 dmabuf_fd;
	__u32 cached;
	char name[VC_SM_CMA_RESOURCE_NAME];
	__s32 handle;
	__u32 vc_handle;
	__u32 size;
	__u32 pad;
	__u64 dma_addr;
};

/* One 2-D cache operation: block_count rows of block_size bytes, rows
 * inter_block_stride bytes apart, starting at a user virtual address. */
struct vc_sm_cma_ioctl_clean_invalid_block {
	__u32 invalidate_mode;
	__u32 block_count;
	void *start_address;
	__u32 block_size;
	__u32 inter_block_stride;
};

/* CLEAN_INVALID2: a header followed by op_count blocks. */
struct vc_sm_cma_ioctl_clean_invalid2 {
	__u32 op_count;
	__u32 pad;
	struct vc_sm_cma_ioctl_clean_invalid_block s[];
};

/* ---------------------------------------------------------------------
 * Legacy driver, /dev/vcsm, ioctl magic 'I' (32-bit user space only)
 * ------------------------------------------------------------------- */

#define VMCS_SM_IOCTL_MAGIC 'I'

/* Command numbers (the _IOC "nr" field). */
#define VMCS_SM_CMD_ALLOC 0x5A
#define VMCS_SM_CMD_ALLOC_SHARE 0x5B
#define VMCS_SM_CMD_LOCK 0x5C
#define VMCS_SM_CMD_LOCK_CACHE 0x5D
#define VMCS_SM_CMD_UNLOCK 0x5E
#define VMCS_SM_CMD_RESIZE 0x5F
#define VMCS_SM_CMD_UNMAP 0x60
#define VMCS_SM_CMD_FREE 0x61
#define VMCS_SM_CMD_FLUSH 0x62
#define VMCS_SM_CMD_INVALID 0x63
#define VMCS_SM_CMD_SIZE_USR_HANDLE 0x64
#define VMCS_SM_CMD_CHK_USR_HANDLE 0x65
#define VMCS_SM_CMD_MAPPED_USR_HANDLE 0x66
#define VMCS_SM_CMD_MAPPED_USR_ADDRESS 0x67
#define VMCS_SM_CMD_MAPPED_VC_HDL_FROM_ADDR 0x68
#define VMCS_SM_CMD_MAPPED_VC_HDL_FROM_HDL 0x69
#define VMCS_SM_CMD_MAPPED_VC_ADDR_FROM_HDL 0x6A
#define VMCS_SM_CMD_VC_WALK_ALLOC 0x6B
#define VMCS_SM_CMD_HOST_WALK_MAP 0x6C
#define VMCS_SM_CMD_HOST_WALK_PID_ALLOC 0x6D
#define VMCS_SM_CMD_HOST_WALK_PID_MAP 0x6E
#define VMCS_SM_CMD_CLEAN_INVALID 0x6F
#define VMCS_SM_CMD_CLEAN_INVALID2 0x70
#define VMCS_SM_CMD_IMPORT_DMABUF 0x71

/* Cache type of an allocation. 4 bytes on armhf and aarch64. */
enum vmcs_sm_cache_e {
	VMCS_SM_CACHE_NONE = 0,
	VMCS_SM_CACHE_HOST = 1,
	VMCS_SM_CACHE_VC = 2,
	VMCS_SM_CACHE_BOTH = 3,
};

/* Entries in one CLEAN_INVALID request. */
#define VMCS_SM_CLEAN_INVALID_ENTRIES 8

struct vmcs_sm_ioctl_alloc {
	unsigned int size;
	unsigned int num;
	enum vmcs_sm_cache_e cached;
	char name[VMCS_SM_RESOURCE_NAME];
	unsigned int handle;
};

struct vmcs_sm_ioctl_alloc_share {
	unsigned int handle;
	unsigned int size;
};

struct vmcs_sm_ioctl_free {
	unsigned int handle;
};

struct vmcs_sm_ioctl_lock_unlock {
	unsigned int handle;
	unsigned int addr;
};

struct vmcs_sm_ioctl_lock_cache {
	unsigned int handle;
	enum vmcs_sm_cache_e cached;
};

struct vmcs_sm_ioctl_resize {
	unsigned int handle;
	unsigned int new_size;
	unsigned int old_size;
};

struct vmcs_sm_ioctl_map {
	unsigned int pid;
	unsigned int handle;
	unsigned int addr;
	unsigned int size;
};

struct vmcs_sm_ioctl_walk {
	unsigned int pid;
};

struct vmcs_sm_ioctl_chk {
	unsigned int handle;
	unsigned int addr;
	unsigned int size;
	enum vmcs_sm_cache_e cache;
};

struct vmcs_sm_ioctl_size {
	unsigned int handle;
	unsigned int size;
};

struct vmcs_sm_ioctl_cache {
	unsigned int handle;
	unsigned int addr;
	unsigned int size;
};

struct vmcs_sm_ioctl_clean_invalid_entry {
	unsigned int cmd;
	unsigned int handle;
	unsigned int addr;
	unsigned int size;
};

struct vmcs_sm_ioctl_clean_invalid {
	struct vmcs_sm_ioctl_clean_invalid_entry s[VMCS_SM_CLEAN_INVALID_ENTRIES];
};

struct vmcs_sm_ioctl_clean_invalid_block {
	__u16 invalidate_mode;
	__u16 block_count;
	void *start_address;
	__u32 block_size;
	__u32 inter_block_stride;
};

struct vmcs_sm_ioctl_clean_invalid2 {
	__u8 op_count;
	__u8 zero[3];
	struct vmcs_sm_ioctl_clean_invalid_block s[];
};

struct vmcs_sm_ioctl_import_dmabuf {
	__s32 dmabuf_fd;
	enum vmcs_sm_cache_e cached;
	char name[VMCS_SM_RESOURCE_NAME];
	unsigned int handle;
};

/* ---------------------------------------------------------------------
 * dma-buf CPU access bracketing (linux/dma-buf.h), ioctl magic 'b'
 * ------------------------------------------------------------------- */

#define DMA_BUF_BASE 'b'
#define DMA_BUF_CMD_SYNC 0

#define DMA_BUF_SYNC_READ (1 << 0)
#define DMA_BUF_SYNC_WRITE (2 << 0)
#define DMA_BUF_SYNC_RW (DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE)
#define DMA_BUF_SYNC_START (0 << 2)
#define DMA_BUF_SYNC_END (1 << 2)
#define DMA_BUF_SYNC_VALID_FLAGS_MASK (DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END)

struct dma_buf_sync {
	__u64 flags;
};

#endif /* VCSM_ABI_H */
