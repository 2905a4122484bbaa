//! Header maps read from the host in its serialized form and borrowed from
//! there. The SDK's getters copy every name and value into allocations of
//! their own (two per header, and a UTF-8 check of each name), and panic
//! on a status they do not expect; here a map costs one allocation, and a
//! map the host cannot give reads as empty.

use log::warn;
use proxy_wasm::types::{MapType, Status};

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_get_header_map_pairs(map_type: MapType, data: *mut *mut u8, size: *mut usize) -> Status;
}

/// A header map as the host serialized it.
pub struct HeaderMap(Vec<u8>);

impl HeaderMap {
    /// Reads `map` from the host; empty when it has none.
    pub fn read(map: MapType) -> HeaderMap {
        let mut data: *mut u8 = std::ptr::null_mut();
        let mut size = 0;
        // SAFETY: the host writes a pointer to `size` bytes it allocated
        // through `proxy_on_memory_allocate`, which the SDK implements with a
        // `Vec<u8>` of exactly that capacity; ownership passes to us, as in
        // the SDK's own `get_map_bytes`.
        let bytes = unsafe {
            match proxy_get_header_map_pairs(map, &mut data, &mut size) {
                Status::Ok if !data.is_null() => Vec::from_raw_parts(data, size, size),
                Status::Ok => Vec::new(),
                status => {
                    warn!("cannot read a header map: {status:?}");
                    Vec::new()
                }
            }
        };
        HeaderMap(bytes)
    }

    /// The (name, value) pairs, borrowed. A fault in the map (which Envoy
    /// never sends) ends it.
    pub fn pairs(&self) -> Vec<(&[u8], &[u8])> {
        let bytes = &self.0;
        let u32_at = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
        let count = u32_at(0).unwrap_or(0);
        // The format: a u32 count, then a (name length, value length) u32 pair
        // per entry, then each name and value followed by a NUL; little-endian.
        let mut data = 4usize.saturating_add(count.saturating_mul(8));
        let entry = |i: usize| {
            let (n, v) = (u32_at(4 + i * 8)?, u32_at(8 + i * 8)?);
            let name = bytes.get(data..data.checked_add(n)?)?;
            let value_at = data + n + 1;
            let value = bytes.get(value_at..value_at.checked_add(v)?)?;
            data = value_at + v + 1;
            Some((name, value))
        };
        // Each entry takes at least ten bytes: a count the map cannot hold is not reserved.
        let mut pairs = Vec::with_capacity(count.min(bytes.len() / 10));
        pairs.extend((0..count).map_while(entry));
        pairs
    }
}
