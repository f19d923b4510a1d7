//! The binaries set mimalloc's purge delay by its index in `mi_option_e`
//! (`MI_OPTION_PURGE_DELAY` in src/main.rs), which libmimalloc-sys does not
//! name: check that index against the options' documented defaults.

/// The index src/main.rs and actionbench-ffmpeg's main.rs use.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

#[test]
#[allow(unsafe_code)]
fn the_purge_delay_index_is_mimallocs_purge_delay() {
    // SAFETY: reads integer options; this test process runs no other
    // mimalloc option calls.
    let get = |o| unsafe { libmimalloc_sys::mi_option_get(o) };
    // mimalloc v3's options.c: purge_delay 1000 ms (or what the environment
    // says), between deprecated_eager_commit_delay (1) and use_numa_nodes (0).
    let expected = std::env::var("MIMALLOC_PURGE_DELAY").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    assert_eq!(get(MI_OPTION_PURGE_DELAY), expected);
    assert_eq!(get(MI_OPTION_PURGE_DELAY - 1), 1);
    assert_eq!(get(MI_OPTION_PURGE_DELAY + 1), 0);
}
