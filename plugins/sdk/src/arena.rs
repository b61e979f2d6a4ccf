//! The plugin's memory allocator: a bump arena in the module's own zero-initialised data.
//!
//! The host gives every evaluation a fresh instance and resets its memory afterwards, so a
//! plugin never lives longer than one order and nothing it allocates needs to be reused.
//! The arena makes that cheap: an allocation is an add, a free gives back only the most
//! recent allocation, and the arena lives in `.bss`, inside the memory the module starts
//! with. Rust's default wasm allocator (dlmalloc) instead grows linear memory for its first
//! allocation, which costs the host a change of page protection and fresh pages (page
//! faults) on every order, several microseconds each time.
//!
//! Allocations that do not fit in what is left of the arena go to the default allocator,
//! so a plugin that needs more memory still gets it, up to the host's memory limit.
//!
//! On by default (feature `arena`); a plugin that wants its own `#[global_allocator]`
//! turns the feature off.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;

/// Bytes in the arena. Only the pages a call touches cost anything: untouched `.bss` pages
/// are never faulted in.
const ARENA_BYTES: usize = 512 << 10;

#[repr(C, align(16))]
struct Bytes([u8; ARENA_BYTES]);

/// A bump allocator over a static buffer, falling back to the system allocator.
pub struct Arena {
    bytes: UnsafeCell<Bytes>,
    // Offset of the first free byte of `bytes`.
    next: UnsafeCell<usize>,
}

// SAFETY: a plugin runs on one thread: wasm32-unknown-unknown and wasm32-wasip2 without the
// threads proposal have no way to start a second one, and the host does not enable it.
unsafe impl Sync for Arena {}

#[global_allocator]
static ARENA: Arena = Arena { bytes: UnsafeCell::new(Bytes([0; ARENA_BYTES])), next: UnsafeCell::new(0) };

impl Arena {
    fn base(&self) -> *mut u8 {
        self.bytes.get().cast::<u8>()
    }

    // Offset of `ptr` in the arena, or `None` when the system allocator gave it out.
    fn offset_of(&self, ptr: *mut u8) -> Option<usize> {
        let offset = (ptr as usize).checked_sub(self.base() as usize)?;
        (offset < ARENA_BYTES).then_some(offset)
    }

    // Reserves `layout` in the arena: the offset of the block, or `None` when it does not fit.
    fn bump(&self, layout: Layout) -> Option<usize> {
        // SAFETY: one thread (see `Sync` above), and no reference to `next` outlives this call.
        let next = unsafe { &mut *self.next.get() };
        let base = self.base() as usize;
        let aligned = (base + *next).checked_add(layout.align() - 1)? & !(layout.align() - 1);
        let start = aligned - base;
        let end = start.checked_add(layout.size())?;
        if end > ARENA_BYTES {
            return None;
        }
        *next = end;
        Some(start)
    }
}

// SAFETY: blocks handed out never overlap: `next` only moves back over the most recent block
// when that block is freed or resized in place, and every block lies inside `bytes` (checked
// against `ARENA_BYTES`) or comes from `System`, which frees its own.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.bump(layout) {
            // SAFETY: `start + layout.size() <= ARENA_BYTES`, inside `bytes`.
            Some(start) => unsafe { self.base().add(start) },
            // SAFETY: the caller's contract on `layout` is passed on.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match self.offset_of(ptr) {
            Some(offset) => {
                // SAFETY: one thread; no other reference to `next` is live.
                let next = unsafe { &mut *self.next.get() };
                // The most recent block is given back; any other is left until the instance ends.
                if offset + layout.size() == *next {
                    *next = offset;
                }
            }
            // SAFETY: `ptr` came from `System.alloc` with this layout.
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if let Some(offset) = self.offset_of(ptr) {
            // SAFETY: one thread; no other reference to `next` is live.
            let next = unsafe { &mut *self.next.get() };
            // The most recent block grows or shrinks in place when the arena has room: what a
            // `Vec` being pushed to asks for most of the time.
            if offset + layout.size() == *next
                && let Some(end) = offset.checked_add(new_size)
                && end <= ARENA_BYTES
            {
                *next = end;
                return ptr;
            }
            if new_size <= layout.size() {
                return ptr;
            }
        }
        // SAFETY: the caller guarantees `new_size` forms a valid layout with this alignment.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as `alloc`.
        let new_ptr = unsafe { self.alloc(new_layout) };
        if !new_ptr.is_null() {
            // SAFETY: both blocks are valid for the smaller size and do not overlap (the new
            // one was just handed out).
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new_ptr, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new_ptr
    }
}
