//! Feeds arbitrary bytes to the framer in arbitrary chunks and checks that the
//! chunking changes nothing: the packets (or the error) must be exactly those of the
//! same bytes fed in one go, and `buffered` must account for every byte.
#![no_main]

use duckgres_codec::{FrameError, Framer};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq)]
enum Event {
    Startup(Vec<u8>),
    Message(u8, Vec<u8>),
    Error(FrameError),
}

/// Pulls all it can: `startups` startup packets first, then typed messages.
/// Returns false once an error has been recorded.
fn drain(framer: &mut Framer, startups: &mut usize, events: &mut Vec<Event>) -> bool {
    loop {
        let pulled = if *startups > 0 {
            framer
                .next_startup()
                .map(|p| p.map(|body| Event::Startup(body.to_vec())))
        } else {
            framer
                .next_message()
                .map(|m| m.map(|(t, body)| Event::Message(t, body.to_vec())))
        };
        match pulled {
            Ok(None) => return true,
            Ok(Some(event)) => {
                *startups -= usize::from(matches!(event, Event::Startup(_)));
                events.push(event);
            }
            Err(err) => {
                events.push(Event::Error(err));
                return false;
            }
        }
    }
}

fn consumed(events: &[Event]) -> usize {
    events
        .iter()
        .map(|event| match event {
            Event::Startup(body) => 4 + body.len(),
            Event::Message(_, body) => 5 + body.len(),
            Event::Error(_) => 0,
        })
        .sum()
}

fuzz_target!(|input: &[u8]| {
    // Header: limits small enough to be hit, the number of startup packets, and a
    // seed for the chunk sizes; the rest is the stream.
    let Some((&[message_limit, startup_limit, startups, seed], data)) = input.split_first_chunk()
    else {
        return;
    };
    let max_message = 4 + u32::from(message_limit) * 4;
    let max_startup = 8 + u32::from(startup_limit) * 4;
    let startups = usize::from(startups % 4);

    let mut whole = Framer::new(max_message, max_startup).unwrap();
    let mut expected = Vec::new();
    whole.feed(data);
    drain(&mut whole, &mut startups.clone(), &mut expected);

    let mut chunked = Framer::new(max_message, max_startup).unwrap();
    let mut events = Vec::new();
    let mut remaining = startups;
    let mut fed = 0;
    let mut state = u32::from(seed) | 1;
    while fed < data.len() {
        // xorshift: cheap, deterministic chunk sizes from 0 to 63.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let end = (fed + (state % 64) as usize).min(data.len());
        chunked.feed(&data[fed..end]);
        fed = end;
        if !drain(&mut chunked, &mut remaining, &mut events) {
            break;
        }
        assert_eq!(chunked.buffered(), fed - consumed(&events));
    }
    assert_eq!(events, expected);
});
