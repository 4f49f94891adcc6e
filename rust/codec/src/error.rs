//! Errors, whose `Display` texts are exactly those of the Python reference: the
//! binding passes them through unchanged as `ProtocolViolation` / `ValueError`.

use std::fmt;

use crate::pyrepr::PyCharRepr;

/// The client broke the framing rules; the connection cannot continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// A startup packet length below 8 or above the startup limit.
    StartupLength,
    /// A typed message whose length word (which counts itself) is below 4.
    MessageLength(u32),
    /// A typed message whose body is over the message limit.
    MessageTooLarge { msg_type: u8, size: u32, limit: u32 },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::StartupLength => f.write_str("invalid length of startup packet"),
            Self::MessageLength(length) => write!(f, "invalid message length {length}"),
            Self::MessageTooLarge {
                msg_type,
                size,
                limit,
            } => write!(
                f,
                "message of type {} is {size} bytes, over the limit of {limit}",
                PyCharRepr(msg_type)
            ),
        }
    }
}

impl std::error::Error for FrameError {}

/// A limit given to `Framer::new` outside what the protocol allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitError {
    MessageSize,
    StartupSize,
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MessageSize => "max_message_size out of range",
            Self::StartupSize => "max_startup_size out of range",
        })
    }
}

impl std::error::Error for LimitError {}
