//! The default cap on a response body, sized to the memory of the machine: reading a mapping file
//! takes about 40 times its size in memory (a 60 MB file took 2.4 to 2.7 GB in `refresh`), so a cap
//! the machine cannot hold would let one oversized file end the run by running out of memory
//! instead of failing its request with a message.

/// Memory one byte of mapping file may take while it is read and built, with room for the rest of
/// the run: the measured 40, and a fifth more.
pub const MEMORY_PER_BODY_BYTE: u64 = 48;
/// The default cap on a machine with memory to spare (64 MiB: a few gigabytes in memory).
pub const LARGEST_DEFAULT: u64 = 64 << 20;
/// The default cap on a machine with little memory, whatever it holds: the site's largest mapping
/// file is 2 MB.
pub const SMALLEST_DEFAULT: u64 = 8 << 20;

/// The default `--max-body-bytes`: the memory this process may use ([`memory_limit`]) over
/// [`MEMORY_PER_BODY_BYTE`], from [`SMALLEST_DEFAULT`] to [`LARGEST_DEFAULT`]; the largest where the
/// memory cannot be read.
pub fn default_max_body_bytes() -> u64 {
    cap_for(memory_limit())
}

/// The cap for a machine of `memory` bytes (`None`: not known).
fn cap_for(memory: Option<u64>) -> u64 {
    memory.map_or(LARGEST_DEFAULT, |memory| {
        (memory / MEMORY_PER_BODY_BYTE).clamp(SMALLEST_DEFAULT, LARGEST_DEFAULT)
    })
}

/// The memory this process may use: the machine's (`MemTotal`), or its control group's limit when
/// lower (a container's `--memory`), cgroup v2 or v1. `None` where none of them can be read.
fn memory_limit() -> Option<u64> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let total = read("/proc/meminfo").and_then(|text| {
        let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    });
    let cgroup = |path: &str| read(path).and_then(|text| text.trim().parse::<u64>().ok());
    [
        total,
        cgroup("/sys/fs/cgroup/memory.max"),
        cgroup("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
    ]
    .into_iter()
    .flatten()
    .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_is_what_the_memory_can_hold_within_its_bounds() {
        const GIB: u64 = 1 << 30;
        assert_eq!(cap_for(Some(24 * GIB)), 64 << 20, "memory to spare: 64 MiB");
        assert_eq!(cap_for(Some(2 * GIB)), (2 * GIB) / 48, "2 GiB: about 42 MiB");
        assert!(cap_for(Some(GIB)) * 40 < GIB, "a body at the cap fits in 1 GiB");
        assert_eq!(cap_for(Some(128 << 20)), 8 << 20, "never below 8 MiB");
        assert_eq!(cap_for(None), 64 << 20, "memory unknown: 64 MiB");
        assert_eq!(default_max_body_bytes(), cap_for(memory_limit()));
    }
}
