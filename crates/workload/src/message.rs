//! The message format of the network experiments (`echo`, `requests`): every
//! message says which connection sent it and which request it is, so an echo
//! that is corrupted, truncated, stale or delivered to the wrong connection is
//! caught byte by byte.
//!
//! ```text
//! offset 0      4      8             16                 len-8        len
//!        | conn | len  |     seq     |   body (conn)    |  trailer   |
//!          u32    u32       u64        splitmix of conn   digest(conn, seq)
//! ```
//!
//! All integers are little-endian. The body is a pseudo-random stream seeded
//! by the connection id (filled once per connection, so a new request costs
//! two stores, not a refill); the header and the trailer change with every
//! request. A server sees `len` in the header, which is all the framing the
//! delay server needs; echo servers need none.
//!
//! The sender keeps the message it sent and compares the echo against it as
//! it arrives ([`Message::check`]), so verification is a byte comparison and
//! works on any split of the echo into reads.

use std::fmt;

/// Bytes of the header: connection id, length, sequence number.
pub const HEADER_BYTES: usize = 16;
/// Bytes of the trailer: a digest of connection and sequence.
pub const TRAILER_BYTES: usize = 8;
/// The smallest message: a header and a trailer.
pub const MIN_BYTES: usize = HEADER_BYTES + TRAILER_BYTES;
/// The largest message (64 MiB), so that a length in a header can be trusted
/// to size a buffer.
pub const MAX_BYTES: usize = 64 << 20;

/// A splitmix64 step: a bijection on `u64` with good avalanche.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The digest of request `seq` of connection `conn`: the trailer of its
/// message, and what a run adds to its checksum for every verified echo.
pub fn digest(conn: u32, seq: u64) -> u64 {
    mix(mix(u64::from(conn) ^ 0xC0_22EC_7100) ^ seq.wrapping_mul(0xD6E8_FEB8_6659_FD93))
}

/// The header of a message, as a server reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The connection (or request, for one-shot connections) that sent it.
    pub conn: u32,
    /// Length of the whole message, header and trailer included.
    pub len: u32,
    /// The request's number on its connection.
    pub seq: u64,
}

impl Header {
    /// Reads a header from the first [`HEADER_BYTES`] of `b`; `None` if `b`
    /// is shorter or the length is outside [`MIN_BYTES`]..=[`MAX_BYTES`].
    pub fn parse(b: &[u8]) -> Option<Header> {
        let b = b.get(..HEADER_BYTES)?;
        let h = Header {
            conn: u32::from_le_bytes(b[0..4].try_into().ok()?),
            len: u32::from_le_bytes(b[4..8].try_into().ok()?),
            seq: u64::from_le_bytes(b[8..16].try_into().ok()?),
        };
        (MIN_BYTES..=MAX_BYTES)
            .contains(&(h.len as usize))
            .then_some(h)
    }

    fn write(&self, b: &mut [u8]) {
        b[0..4].copy_from_slice(&self.conn.to_le_bytes());
        b[4..8].copy_from_slice(&self.len.to_le_bytes());
        b[8..16].copy_from_slice(&self.seq.to_le_bytes());
    }
}

/// Which part of a message a mismatch is in, which says what went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Bytes 0..4: the echo belongs to another connection.
    Connection,
    /// Bytes 4..8: the echo is another message's length (framing lost).
    Length,
    /// Bytes 8..16: the echo is an earlier or later request.
    Sequence,
    /// The body: corrupted, or another connection's bytes.
    Body,
    /// The trailer: another request, or a truncated and spliced echo.
    Trailer,
    /// Past the end: the server sent more bytes than it was sent.
    Surplus,
}

impl Part {
    fn of(offset: usize, len: usize) -> Part {
        match offset {
            o if o >= len => Part::Surplus,
            0..4 => Part::Connection,
            4..8 => Part::Length,
            8..16 => Part::Sequence,
            o if o >= len - TRAILER_BYTES => Part::Trailer,
            _ => Part::Body,
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            Part::Connection => "the echo belongs to another connection",
            Part::Length => "the echo has another message's length (framing lost)",
            Part::Sequence => "the echo is an earlier or later request",
            Part::Body => "the body is corrupted or another connection's",
            Part::Trailer => "the trailer is another request's (truncated or spliced echo)",
            Part::Surplus => "the server sent more bytes than the request had",
        }
    }
}

/// An echo that differs from the message sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Connection of the message sent.
    pub conn: u32,
    /// Sequence number of the message sent.
    pub seq: u64,
    /// Length of the message sent.
    pub len: usize,
    /// Offset of the first differing byte.
    pub offset: usize,
    /// The byte sent there (`None` past the end).
    pub expected: Option<u8>,
    /// The byte echoed there.
    pub got: u8,
    /// What that part of the message means.
    pub part: Part,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "connection {} request {}: echoed byte {} of {} is {:#04x}",
            self.conn, self.seq, self.offset, self.len, self.got
        )?;
        if let Some(e) = self.expected {
            write!(f, ", sent {e:#04x}")?;
        }
        write!(f, " ({})", self.part.meaning())
    }
}

impl std::error::Error for Mismatch {}

/// A message being sent, kept to check its echo.
#[derive(Debug, Clone)]
pub struct Message {
    buf: Vec<u8>,
    conn: u32,
    seq: u64,
}

impl Message {
    /// The message of connection `conn` with `len` bytes, at sequence 0.
    ///
    /// # Panics
    /// If `len` is outside [`MIN_BYTES`]..=[`MAX_BYTES`] (callers validate
    /// user input first).
    pub fn new(conn: u32, len: usize) -> Message {
        assert!(
            (MIN_BYTES..=MAX_BYTES).contains(&len),
            "message length {len} outside {MIN_BYTES}..={MAX_BYTES}"
        );
        let mut buf = vec![0u8; len];
        let mut state = mix(u64::from(conn).wrapping_mul(0x2545_F491_4F6C_DD1D));
        for chunk in buf[HEADER_BYTES..len - TRAILER_BYTES].chunks_mut(8) {
            state = mix(state);
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        let mut m = Message { buf, conn, seq: 0 };
        m.set_seq(0);
        m
    }

    /// Makes this the message of request `seq` (rewrites header and trailer).
    pub fn set_seq(&mut self, seq: u64) {
        self.seq = seq;
        let len = self.buf.len();
        Header {
            conn: self.conn,
            len: len as u32,
            seq,
        }
        .write(&mut self.buf);
        self.buf[len - TRAILER_BYTES..].copy_from_slice(&digest(self.conn, seq).to_le_bytes());
    }

    /// The bytes to send.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Always false: a message has at least [`MIN_BYTES`].
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The connection id.
    pub fn conn(&self) -> u32 {
        self.conn
    }

    /// The current sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// This request's digest (its trailer), for checksums.
    pub fn digest(&self) -> u64 {
        digest(self.conn, self.seq)
    }

    /// Checks `echoed`, the part of the echo that starts at byte `offset` of
    /// the message, against what was sent.
    pub fn check(&self, offset: usize, echoed: &[u8]) -> Result<(), Mismatch> {
        let len = self.buf.len();
        let end = offset.saturating_add(echoed.len());
        let sent = self.buf.get(offset.min(len)..end.min(len)).unwrap_or(&[]);
        if end <= len && sent == echoed {
            return Ok(());
        }
        let i = sent
            .iter()
            .zip(echoed)
            .position(|(a, b)| a != b)
            .unwrap_or(sent.len());
        let at = offset + i;
        Err(Mismatch {
            conn: self.conn,
            seq: self.seq,
            len,
            offset: at,
            expected: self.buf.get(at).copied(),
            got: echoed[i],
            part: Part::of(at, len),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn header_round_trips_and_rejects_bad_lengths() {
        let mut m = Message::new(7, 100);
        m.set_seq(42);
        assert_eq!(
            Header::parse(m.bytes()),
            Some(Header {
                conn: 7,
                len: 100,
                seq: 42
            })
        );
        assert_eq!(Header::parse(&m.bytes()[..10]), None);
        let mut bad = m.bytes().to_vec();
        bad[4..8].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(
            Header::parse(&bad),
            None,
            "shorter than a header and trailer"
        );
        assert_eq!(m.digest(), digest(7, 42));
    }

    #[test]
    fn the_whole_message_checks_in_any_split() {
        let mut m = Message::new(3, 1000);
        m.set_seq(9);
        let b = m.bytes().to_vec();
        m.check(0, &b).unwrap();
        for split in [1, 16, 17, 500, 992, 999] {
            m.check(0, &b[..split]).unwrap();
            m.check(split, &b[split..]).unwrap();
        }
    }

    #[test]
    fn misdelivery_and_staleness_are_named() {
        let mut mine = Message::new(1, 64);
        mine.set_seq(5);
        let mut other_conn = Message::new(2, 64);
        other_conn.set_seq(5);
        let e = mine.check(0, other_conn.bytes()).unwrap_err();
        assert_eq!(e.part, Part::Connection);
        assert!(e.to_string().contains("another connection"), "{e}");

        let mut stale = mine.clone();
        stale.set_seq(4);
        let e = mine.check(0, stale.bytes()).unwrap_err();
        assert_eq!(e.part, Part::Sequence);
        // The trailer alone also tells requests apart.
        let e = mine.check(56, &stale.bytes()[56..]).unwrap_err();
        assert_eq!(e.part, Part::Trailer);
        // The body alone tells connections apart.
        let e = mine.check(16, &other_conn.bytes()[16..56]).unwrap_err();
        assert_eq!(e.part, Part::Body);
    }

    #[test]
    fn surplus_bytes_are_caught() {
        let m = Message::new(1, 24);
        let mut b = m.bytes().to_vec();
        b.push(0);
        let e = m.check(0, &b).unwrap_err();
        assert_eq!((e.part, e.offset, e.expected), (Part::Surplus, 24, None));
        assert!(m.check(24, &[1]).is_err());
    }

    proptest! {
        #[test]
        fn every_single_byte_change_is_caught(len in MIN_BYTES..300usize, at in 0usize..300, flip in 1u8..=255, conn: u32, seq: u64) {
            let at = at % len;
            let mut m = Message::new(conn, len);
            m.set_seq(seq);
            let mut b = m.bytes().to_vec();
            b[at] ^= flip;
            let e = m.check(0, &b).unwrap_err();
            prop_assert_eq!(e.offset, at);
        }

        #[test]
        fn messages_of_distinct_requests_differ(c1: u32, c2: u32, s1: u64, s2: u64) {
            prop_assume!((c1, s1) != (c2, s2));
            let mut a = Message::new(c1, 32);
            a.set_seq(s1);
            let mut b = Message::new(c2, 32);
            b.set_seq(s2);
            prop_assert!(a.check(0, b.bytes()).is_err());
        }
    }
}
