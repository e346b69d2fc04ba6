//! echod's JSON-RPC decoder: the cost per byte of a stream fed in 1-byte and in 20-byte reads
//! against the same stream fed whole, measured in the same run (goal: ratio <= 2, i.e. decoding
//! stays linear and a dribbling peer costs at most twice a well-behaved one per byte).
//!
//! Both ways into the decoder are measured: `decode`, which the data plane calls once per read
//! (a message that lies wholly in the read is parsed there), and `feed` + `next_message`, which
//! the control socket and the session hand-off use (every byte is copied into the decoder).
//!
//! Two streams: 300 realistic 3.3 KB echo requests (floats, negative numbers, nesting) and one
//! 1 MiB message (one long string, as in the quadratic-decoding report: 5.8 s in 20-byte pieces
//! against 0.01 s whole before the decoder kept its state across reads). A read costs the
//! decoder a few ns however cheap its bytes are, so for the long string, whose bytes are
//! skipped at well under 1 ns each when whole, the 1-byte figure is the cost of a read, not of
//! decoding: that line gives what a read costs beyond its byte and no goal, and the 20-byte
//! line carries the goal for that stream. Each round decodes every way in alternating order; the
//! figure is the median of the per-round ratios.

use echod::jsonrpc::Decoder;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// A way into the decoder (see the module docs).
#[derive(Debug, Clone, Copy)]
enum Api {
    Decode,
    FeedNext,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::Decode => "decode",
            Api::FeedNext => "feed + next_message",
        }
    }
}

/// Decodes `stream` fed in pieces of `piece` bytes; returns the number of messages.
fn decode(stream: &[u8], piece: usize, api: Api) -> usize {
    match api {
        Api::Decode => by_decode(stream, piece),
        Api::FeedNext => by_feed_next(stream, piece),
    }
}

// Each way in is compiled on its own (not inlined into a caller that holds both), so that
// neither's code placement moves the other's figures.
#[inline(never)]
fn by_decode(stream: &[u8], piece: usize) -> usize {
    let mut dec = Decoder::new(2 << 20);
    let mut n = 0;
    for chunk in stream.chunks(piece) {
        dec.decode(chunk, |m| {
            black_box(&m);
            n += 1;
        })
        .expect("valid stream");
    }
    n
}

#[inline(never)]
fn by_feed_next(stream: &[u8], piece: usize) -> usize {
    let mut dec = Decoder::new(2 << 20);
    let mut n = 0;
    for chunk in stream.chunks(piece) {
        dec.feed(chunk);
        while let Some(m) = dec.next_message().expect("valid stream") {
            black_box(&m);
            n += 1;
        }
    }
    n
}

/// Seconds per byte of decoding `stream` in pieces of `piece` bytes (the best of a few runs
/// filling `budget`, so that a scheduler hiccup does not count).
fn per_byte(stream: &[u8], piece: usize, api: Api, budget: Duration) -> f64 {
    let mut best = f64::INFINITY;
    let start = Instant::now();
    let mut runs = 0;
    while runs < 3 || start.elapsed() < budget {
        let t = Instant::now();
        black_box(decode(black_box(stream), piece, api));
        best = best.min(t.elapsed().as_secs_f64() / stream.len() as f64);
        runs += 1;
    }
    best
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[v.len() / 2]
}

fn realistic_request(i: usize) -> String {
    let mut params = Vec::new();
    for k in 0..60 {
        params.push(format!(
            r#"{{"x":-{k}.{i}25e-3,"y":[{k},-0.5,1.0E+2],"name":"row {k} of {i}"}}"#
        ));
    }
    format!(
        r#"{{"method":"echo","params":[{}],"id":{i}}}"#,
        params.join(",")
    )
}

fn main() {
    let long = format!(
        r#"{{"method":"echo","params":["{}"],"id":1}}"#,
        "x".repeat(1 << 20)
    );
    let many: String = (0..300).map(realistic_request).collect();
    let (rounds, budget) = if bench_mode() {
        (7, Duration::from_millis(300))
    } else {
        (1, Duration::ZERO)
    };
    let note = if bench_mode() {
        ""
    } else {
        " [smoke run: not a measurement, use cargo bench]"
    };
    // (name, stream, whether its 1-byte figure is the cost of a read: see the module docs)
    for (name, stream, call_cost) in [
        ("300 x 3.3 KB requests", many.as_bytes(), false),
        ("one 1 MiB message", long.as_bytes(), true),
    ] {
        for api in [Api::Decode, Api::FeedNext] {
            let whole_count = decode(stream, stream.len(), api);
            for piece in [1, 20] {
                assert_eq!(decode(stream, piece, api), whole_count);
                let (mut whole, mut pieces, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
                for round in 0..rounds {
                    let (w, d) = if round % 2 == 0 {
                        let w = per_byte(stream, stream.len(), api, budget);
                        (w, per_byte(stream, piece, api, budget))
                    } else {
                        let d = per_byte(stream, piece, api, budget);
                        (per_byte(stream, stream.len(), api, budget), d)
                    };
                    whole.push(w);
                    pieces.push(d);
                    ratios.push(d / w);
                }
                let (whole, pieces) = (median(whole) * 1e9, median(pieces) * 1e9);
                let goal = if piece == 1 && call_cost {
                    format!(
                        "no goal: a read costs about {:.1} ns more than its byte, the 20-byte \
                         line has the goal",
                        pieces - whole
                    )
                } else {
                    "goal <= 2".to_string()
                };
                println!(
                    "echod/decode ({name}, {} bytes, {}): whole {whole:.2} ns/byte, {piece}-byte \
                     reads {pieces:.2} ns/byte, median per-round ratio {:.2} ({goal}){note}",
                    stream.len(),
                    api.name(),
                    median(ratios)
                );
            }
        }
    }
}
