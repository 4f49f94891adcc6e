//! The framer: a growing buffer plus a read position, cut into packets on demand.

use crate::error::{FrameError, LimitError};

/// PostgreSQL's own startup packet limit (MAX_STARTUP_PACKET_LENGTH).
pub const MAX_STARTUP_PACKET: u32 = 10_000;
/// Largest message PostgreSQL itself accepts (PQ_LARGE_MESSAGE_LIMIT, 1 GiB - 1).
pub const MAX_MESSAGE_LIMIT: u32 = 0x3FFF_FFFF;
/// The reference's default body limit for typed messages.
pub const DEFAULT_MAX_MESSAGE: u32 = 64 << 20;

/// Consumed bytes tolerated at the buffer's head before `feed` moves the rest down:
/// compacting only past this, and only once over half the buffer is consumed, keeps
/// the copying amortised linear (the same policy as the Python reference).
const COMPACT_AFTER: usize = 65_536;

/// Cuts a frontend byte stream into packets; feed bytes, pull messages.
///
/// The caller knows the protocol phase and asks for the matching kind: untyped
/// startup-phase packets first, typed messages after. Every length is checked against
/// its limit as soon as its header is buffered, before the body is waited for.
/// An error consumes nothing, so asking again reports it again.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    /// Start of the first byte not yet returned in a packet.
    pos: usize,
    max_message_size: u32,
    max_startup_size: u32,
}

impl Framer {
    /// `max_message_size` bounds a typed message's body (4..=MAX_MESSAGE_LIMIT);
    /// `max_startup_size` bounds a whole startup packet, length word included
    /// (8..=MAX_MESSAGE_LIMIT).
    pub fn new(max_message_size: u32, max_startup_size: u32) -> Result<Self, LimitError> {
        if !(4..=MAX_MESSAGE_LIMIT).contains(&max_message_size) {
            return Err(LimitError::MessageSize);
        }
        if !(8..=MAX_MESSAGE_LIMIT).contains(&max_startup_size) {
            return Err(LimitError::StartupSize);
        }
        Ok(Self {
            buf: Vec::new(),
            pos: 0,
            max_message_size,
            max_startup_size,
        })
    }

    pub fn max_message_size(&self) -> u32 {
        self.max_message_size
    }

    pub fn max_startup_size(&self) -> u32 {
        self.max_startup_size
    }

    /// Bytes received but not yet returned as a packet.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn feed(&mut self, data: &[u8]) {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > COMPACT_AFTER && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// One startup-phase packet (the bytes after its length word), or `None` while
    /// it is incomplete.
    pub fn next_startup(&mut self) -> Result<Option<&[u8]>, FrameError> {
        let Some(&header) = self.buf[self.pos..].first_chunk::<4>() else {
            return Ok(None);
        };
        let length = u32::from_be_bytes(header);
        if !(8..=self.max_startup_size).contains(&length) {
            return Err(FrameError::StartupLength);
        }
        Ok(self.take(length as usize, 4))
    }

    /// One typed message as (type byte, body), or `None` while it is incomplete.
    pub fn next_message(&mut self) -> Result<Option<(u8, &[u8])>, FrameError> {
        let Some(&[msg_type, l0, l1, l2, l3]) = self.buf[self.pos..].first_chunk::<5>() else {
            return Ok(None);
        };
        // The length word counts itself but not the type byte.
        let length = u32::from_be_bytes([l0, l1, l2, l3]);
        let Some(size) = length.checked_sub(4) else {
            return Err(FrameError::MessageLength(length));
        };
        if size > self.max_message_size {
            let limit = self.max_message_size;
            return Err(FrameError::MessageTooLarge {
                msg_type,
                size,
                limit,
            });
        }
        Ok(self
            .take(1 + length as usize, 5)
            .map(|body| (msg_type, body)))
    }

    /// Consumes a packet of `total` bytes if all of them are buffered, returning the
    /// part after its `header` bytes.
    fn take(&mut self, total: usize, header: usize) -> Option<&[u8]> {
        if self.buffered() < total {
            return None;
        }
        let start = self.pos;
        self.pos += total;
        Some(&self.buf[start + header..self.pos])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Event {
        Startup(Vec<u8>),
        Message(u8, Vec<u8>),
        Error(FrameError),
    }

    fn startup(body: &[u8]) -> Vec<u8> {
        let mut packet = ((body.len() + 4) as u32).to_be_bytes().to_vec();
        packet.extend_from_slice(body);
        packet
    }

    fn message(msg_type: u8, body: &[u8]) -> Vec<u8> {
        let mut packet = vec![msg_type];
        packet.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        packet.extend_from_slice(body);
        packet
    }

    fn framer() -> Framer {
        Framer::new(DEFAULT_MAX_MESSAGE, MAX_STARTUP_PACKET).unwrap()
    }

    /// Pulls everything available: `startups` startup packets first, then messages.
    /// Stops at the first error, which is recorded as the last event.
    fn drain(framer: &mut Framer, startups: &mut usize, events: &mut Vec<Event>) -> bool {
        loop {
            let event = if *startups > 0 {
                framer
                    .next_startup()
                    .map(|p| p.map(|body| Event::Startup(body.to_vec())))
            } else {
                framer
                    .next_message()
                    .map(|m| m.map(|(t, body)| Event::Message(t, body.to_vec())))
            };
            match event {
                Ok(None) => return true,
                Ok(Some(event)) => {
                    if matches!(event, Event::Startup(_)) {
                        *startups -= 1;
                    }
                    events.push(event);
                }
                Err(err) => {
                    events.push(Event::Error(err));
                    return false;
                }
            }
        }
    }

    /// Feeds `chunks` one by one, draining after each.
    fn decode<'a>(
        mut framer: Framer,
        mut startups: usize,
        chunks: impl IntoIterator<Item = &'a [u8]>,
    ) -> Vec<Event> {
        let mut events = Vec::new();
        for chunk in chunks {
            framer.feed(chunk);
            if !drain(&mut framer, &mut startups, &mut events) {
                break;
            }
        }
        events
    }

    fn stream() -> (Vec<u8>, Vec<Event>) {
        let parts: [(Vec<u8>, Event); 6] = [
            (startup(&[0, 0, 0, 0]), Event::Startup(vec![0, 0, 0, 0])),
            (
                startup(b"\x00\x03\x00\x00user\x00me\x00\x00"),
                Event::Startup(b"\x00\x03\x00\x00user\x00me\x00\x00".to_vec()),
            ),
            (
                message(b'Q', b"select 1\x00"),
                Event::Message(b'Q', b"select 1\x00".to_vec()),
            ),
            (message(b'S', b""), Event::Message(b'S', vec![])),
            (message(0, b"\xff"), Event::Message(0, vec![0xff])),
            (message(b'X', b""), Event::Message(b'X', vec![])),
        ];
        let bytes = parts.iter().flat_map(|(bytes, _)| bytes.clone()).collect();
        (bytes, parts.into_iter().map(|(_, event)| event).collect())
    }

    #[test]
    fn whole_stream_in_one_feed() {
        let (bytes, expected) = stream();
        assert_eq!(decode(framer(), 2, [&bytes[..]]), expected);
    }

    #[test]
    fn split_at_every_boundary() {
        let (bytes, expected) = stream();
        for cut in 0..=bytes.len() {
            let (a, b) = bytes.split_at(cut);
            assert_eq!(decode(framer(), 2, [a, b]), expected, "cut at {cut}");
        }
    }

    #[test]
    fn one_byte_at_a_time() {
        let (bytes, expected) = stream();
        assert_eq!(decode(framer(), 2, bytes.chunks(1)), expected);
    }

    #[test]
    fn many_messages_in_one_feed() {
        let bytes: Vec<u8> = (0..1000u32)
            .flat_map(|i| message(b'd', &i.to_be_bytes()))
            .collect();
        let expected: Vec<Event> = (0..1000u32)
            .map(|i| Event::Message(b'd', i.to_be_bytes().to_vec()))
            .collect();
        assert_eq!(decode(framer(), 0, [&bytes[..]]), expected);
    }

    #[test]
    fn oversized_message_rejected_on_header_alone() {
        let mut f = Framer::new(100, MAX_STARTUP_PACKET).unwrap();
        f.feed(&[b'Q', 0, 0, 0]);
        assert_eq!(f.next_message(), Ok(None));
        f.feed(&[105]);
        let err = FrameError::MessageTooLarge {
            msg_type: b'Q',
            size: 101,
            limit: 100,
        };
        assert_eq!(f.next_message(), Err(err.clone()));
        // Nothing was consumed, so the error stands.
        assert_eq!(f.buffered(), 5);
        assert_eq!(f.next_message(), Err(err));
    }

    #[test]
    fn hostile_length_rejected_without_its_body() {
        let mut f = framer();
        f.feed(&[b'D', 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(
            f.next_message().unwrap_err().to_string(),
            "message of type 'D' is 4294967291 bytes, over the limit of 67108864"
        );
    }

    #[test]
    fn oversized_startup_rejected_on_header_alone() {
        let mut f = framer();
        f.feed(&(MAX_STARTUP_PACKET + 1).to_be_bytes());
        assert_eq!(f.next_startup(), Err(FrameError::StartupLength));
    }

    #[test]
    fn startup_length_below_8_rejected() {
        for length in 0..8u32 {
            let mut f = framer();
            f.feed(&length.to_be_bytes());
            assert_eq!(
                f.next_startup(),
                Err(FrameError::StartupLength),
                "length {length}"
            );
        }
        let mut f = framer();
        f.feed(&startup(&[1, 2, 3, 4]));
        assert_eq!(f.next_startup(), Ok(Some(&[1, 2, 3, 4][..])));
    }

    #[test]
    fn message_length_below_4_rejected() {
        for length in 0..4u32 {
            let mut f = framer();
            f.feed(b"Q");
            f.feed(&length.to_be_bytes());
            let err = f.next_message().unwrap_err();
            assert_eq!(err.to_string(), format!("invalid message length {length}"));
        }
        let mut f = framer();
        f.feed(&message(b'H', b""));
        assert_eq!(f.next_message(), Ok(Some((b'H', &[][..]))));
    }

    #[test]
    fn exact_limits() {
        let mut f = Framer::new(10, 20).unwrap();
        let startup_at_limit = startup(&[7; 16]);
        f.feed(&startup_at_limit);
        assert_eq!(f.next_startup(), Ok(Some(&[7; 16][..])));
        f.feed(&startup(&[7; 17]));
        assert_eq!(f.next_startup(), Err(FrameError::StartupLength));

        let mut f = Framer::new(10, 20).unwrap();
        f.feed(&message(b'P', &[1; 10]));
        assert_eq!(f.next_message(), Ok(Some((b'P', &[1; 10][..]))));
        f.feed(&message(b'P', &[1; 11]));
        let err = FrameError::MessageTooLarge {
            msg_type: b'P',
            size: 11,
            limit: 10,
        };
        assert_eq!(f.next_message(), Err(err));
    }

    #[test]
    fn limits_validated() {
        assert_eq!(Framer::new(3, 8).unwrap_err(), LimitError::MessageSize);
        assert_eq!(
            Framer::new(MAX_MESSAGE_LIMIT + 1, 8).unwrap_err(),
            LimitError::MessageSize
        );
        assert_eq!(Framer::new(4, 7).unwrap_err(), LimitError::StartupSize);
        assert_eq!(
            Framer::new(4, MAX_MESSAGE_LIMIT + 1).unwrap_err(),
            LimitError::StartupSize
        );
        let f = Framer::new(4, 8).unwrap();
        assert_eq!((f.max_message_size(), f.max_startup_size()), (4, 8));
        assert!(Framer::new(MAX_MESSAGE_LIMIT, MAX_MESSAGE_LIMIT).is_ok());
        assert_eq!(
            LimitError::MessageSize.to_string(),
            "max_message_size out of range"
        );
        assert_eq!(
            LimitError::StartupSize.to_string(),
            "max_startup_size out of range"
        );
    }

    #[test]
    fn error_texts() {
        assert_eq!(
            FrameError::StartupLength.to_string(),
            "invalid length of startup packet"
        );
        let err = FrameError::MessageTooLarge {
            msg_type: b'\'',
            size: 9,
            limit: 4,
        };
        assert_eq!(
            err.to_string(),
            "message of type \"'\" is 9 bytes, over the limit of 4"
        );
    }

    #[test]
    fn buffer_reset_once_fully_consumed() {
        let mut f = framer();
        f.feed(&message(b'S', b""));
        f.feed(b"Q");
        assert!(f.next_message().unwrap().is_some());
        assert_eq!(f.buffered(), 1);
        assert_eq!(f.next_message(), Ok(None));
        f.feed(&[]);
        assert_eq!(f.pos, 5, "a partial message keeps the buffer");
        f.next_message().unwrap();
        f.feed(&[0, 0, 0, 4]);
        assert_eq!(f.next_message(), Ok(Some((b'Q', &[][..]))));
        f.feed(&[]);
        assert_eq!((f.pos, f.buf.len()), (0, 0));
    }

    #[test]
    fn buffer_compacted_past_threshold() {
        let mut f = framer();
        let big = message(b'd', &[5; 40_000]);
        let stream = big.repeat(3);
        let (head, tail) = stream.split_at(2 * big.len() + 6);
        f.feed(head);
        while f.next_message().unwrap().is_some() {}
        // Two messages consumed (80_010 bytes), 6 left over: the next feed moves them down.
        assert_eq!(f.buffered(), 6);
        assert!(f.pos > COMPACT_AFTER);
        f.feed(tail);
        assert_eq!((f.pos, f.buf.len()), (0, big.len()));
        assert_eq!(f.next_message(), Ok(Some((b'd', &[5; 40_000][..]))));
    }
}
