//! A shared memory mapping of a device file (`/dev/uioN`, `/dev/udmabufN`, or a plain file
//! standing for one), with bounds-checked access: volatile 32-bit words for registers, copies
//! for buffers.

use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};
use std::fs::File;
use std::io;
use std::ptr::NonNull;

/// `len` bytes of a file mapped shared at `offset`; unmapped on drop.
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// The mapping is plain memory owned by this value; moving it to another thread is sound.
unsafe impl Send for Mapping {}

impl Mapping {
    /// Map `len` bytes of `file` from `offset` (read-write, or read-only). A regular file (a
    /// stand-in for a device) must be at least that long: touching a page past its end would
    /// raise SIGBUS instead of an error.
    pub fn new(file: &File, len: usize, offset: u64, writable: bool) -> io::Result<Mapping> {
        let meta = file.metadata()?;
        if meta.is_file() && meta.len() < offset + len as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the file holds {} bytes, the mapping needs {}", meta.len(), offset + len as u64),
            ));
        }
        let prot = if writable { ProtFlags::READ | ProtFlags::WRITE } else { ProtFlags::READ };
        // SAFETY: a fresh shared mapping chosen by the kernel (null hint); it aliases no Rust
        // object, and every access below is bounds-checked against `len`.
        let ptr = unsafe { mmap(std::ptr::null_mut(), len, prot, MapFlags::SHARED, file, offset)? };
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Mapping { ptr, len })
    }

    /// Mapped bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing mapped.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `offset..offset + len` lies inside the mapping.
    pub fn contains(&self, offset: u64, len: usize) -> bool {
        offset.checked_add(len as u64).is_some_and(|end| end <= self.len as u64)
    }

    /// The aligned 32-bit word at `offset`, read once (volatile), or `None` out of bounds.
    pub fn read_u32(&self, offset: u64) -> Option<u32> {
        if !offset.is_multiple_of(4) || !self.contains(offset, 4) {
            return None;
        }
        // SAFETY: in bounds and aligned (the mapping is page aligned).
        Some(unsafe { self.ptr.as_ptr().add(offset as usize).cast::<u32>().read_volatile() })
    }

    /// Write the aligned 32-bit word at `offset` once (volatile); `None` out of bounds.
    pub fn write_u32(&self, offset: u64, value: u32) -> Option<()> {
        if !offset.is_multiple_of(4) || !self.contains(offset, 4) {
            return None;
        }
        // SAFETY: in bounds and aligned; the mapping is writable when the device was opened so.
        unsafe { self.ptr.as_ptr().add(offset as usize).cast::<u32>().write_volatile(value) };
        Some(())
    }

    /// Copy `data` to `offset`; `None` out of bounds.
    pub fn copy_in(&self, offset: u64, data: &[u8]) -> Option<()> {
        if !self.contains(offset, data.len()) {
            return None;
        }
        // SAFETY: in bounds; `data` is Rust memory, never inside the mapping.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.as_ptr().add(offset as usize), data.len()) };
        Some(())
    }

    /// The `len` bytes at `offset`; `None` out of bounds.
    pub fn copy_out(&self, offset: u64, len: usize) -> Option<Vec<u8>> {
        if !self.contains(offset, len) {
            return None;
        }
        let mut out = vec![0u8; len];
        // SAFETY: in bounds; `out` is fresh Rust memory.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.as_ptr().add(offset as usize), out.as_mut_ptr(), len) };
        Some(out)
    }

    /// Fill `out` with the bytes at `offset`; `None` out of bounds.
    pub fn copy_out_into(&self, offset: u64, out: &mut [u8]) -> Option<()> {
        if !self.contains(offset, out.len()) {
            return None;
        }
        // SAFETY: in bounds; `out` is Rust memory, never inside the mapping.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.as_ptr().add(offset as usize), out.as_mut_ptr(), out.len()) };
        Some(())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: exactly the region `new` mapped; no reference into it outlives `self`.
        let _ = unsafe { munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}
