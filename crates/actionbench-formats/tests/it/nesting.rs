//! Deeply nested input is an error, never a stack overflow: every walk over
//! decoded values is bounded (the pickle case is in `pickle.rs`).

use std::path::Path;

use actionbench_formats::kinetics_skeleton::{parse_kinetics_labels, parse_kinetics_skeleton};

/// Runs `f` on a thread with a quarter of a rayon worker's stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(512 << 10).spawn(f).unwrap().join().expect("the parser overflowed the stack")
}

#[test]
fn deeply_nested_json_is_an_error_or_skipped_never_a_crash() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    // Where the schema expects something else, the typed parse stops at once.
    for video in [true, false] {
        let text = deep.clone();
        let err = on_small_stack(move || parse(&text, video)).unwrap_err();
        assert!(err.starts_with("`deep.json` line 1"), "{err}");
    }
    // A field the schema does not know is skipped by serde_json without
    // recursing: the file reads (and a value it does need is still checked).
    let video = format!("{{\"data\": [], \"label\": \"x\", \"label_index\": 0, \"extra\": {deep}}}");
    let labels =
        format!("{{\"v\": {{\"has_skeleton\": true, \"label\": \"x\", \"label_index\": 0, \"extra\": {deep}}}}}");
    assert_eq!(on_small_stack(move || parse(&video, true)), Ok(()));
    assert_eq!(on_small_stack(move || parse(&labels, false)), Ok(()));
}

fn parse(text: &str, video: bool) -> Result<(), String> {
    let path = Path::new("deep.json");
    let result = if video {
        parse_kinetics_skeleton(text.as_bytes(), path).map(|_| ())
    } else {
        parse_kinetics_labels(text.as_bytes(), path).map(|_| ())
    };
    result.map_err(|e| e.to_string())
}
