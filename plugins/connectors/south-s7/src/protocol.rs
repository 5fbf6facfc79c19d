//! The frames of S7 communication, as pure functions: TPKT (RFC 1006) carries COTP (ISO 8073
//! class 0), which carries S7comm PDUs. Only what reading needs: the connection request and its
//! confirm, the PDU size negotiation ("setup communication") and the read-variable service.
//!
//! Everything here checks lengths before reading: an answer is material from the network.

use thiserror::Error;

/// TPKT header: version 3, reserved, 16-bit length of the whole frame.
pub const TPKT_LEN: usize = 4;
/// COTP data header: length indicator, DT code, EOT flag and TPDU number.
pub const COTP_DT_LEN: usize = 3;
/// S7comm header of a request (job).
pub const JOB_HEADER_LEN: usize = 10;
/// S7comm header of an answer (ack-data: with error class and code).
pub const ACK_HEADER_LEN: usize = 12;
/// Bytes of one item of a read request (its address).
pub const READ_ITEM_LEN: usize = 12;
/// Bytes before the data of one item of a read answer (return code, transport size, length).
pub const ANSWER_ITEM_HEADER_LEN: usize = 4;
/// Parameter bytes of a read request or answer (function, item count).
pub const READ_PARAM_LEN: usize = 2;

/// A frame or PDU that does not follow the protocol.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    /// Fewer bytes than the structure needs.
    #[error("{0} is cut short ({1} bytes)")]
    Short(&'static str, usize),
    /// A field with a value the protocol does not allow here.
    #[error("{0}")]
    Unexpected(String),
}

type Result<T> = std::result::Result<T, ProtocolError>;

fn unexpected(what: impl Into<String>) -> ProtocolError {
    ProtocolError::Unexpected(what.into())
}

/// Wraps `payload` in a TPKT frame.
fn tpkt(payload: &[u8]) -> Vec<u8> {
    let len = (TPKT_LEN + payload.len()) as u16;
    let mut frame = Vec::with_capacity(usize::from(len));
    frame.extend_from_slice(&[3, 0]);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// The length of the frame a TPKT header announces (header included).
pub fn tpkt_length(header: [u8; TPKT_LEN]) -> Result<usize> {
    if header[0] != 3 {
        return Err(unexpected(format!(
            "not an ISO-on-TCP frame (TPKT version {} instead of 3)",
            header[0]
        )));
    }
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if len < TPKT_LEN + 2 {
        return Err(unexpected(format!("a TPKT frame of {len} bytes")));
    }
    Ok(len)
}

/// The COTP connection request (CR) asking for the PLC's `remote_tsap` from `local_tsap`, in its
/// TPKT frame. It asks for TPDUs of 1024 bytes.
pub fn connection_request(local_tsap: u16, remote_tsap: u16) -> Vec<u8> {
    let [l0, l1] = local_tsap.to_be_bytes();
    let [r0, r1] = remote_tsap.to_be_bytes();
    let cotp = [
        17,   // length indicator: the bytes after this one
        0xE0, // CR
        0x00, 0x00, // destination reference
        0x00, 0x01, // source reference
        0x00, // class 0
        0xC0, 1, 0x0A, // TPDU size 2^10
        0xC1, 2, l0, l1, // calling (source) TSAP
        0xC2, 2, r0, r1, // called (destination) TSAP
    ];
    tpkt(&cotp)
}

/// Checks the PLC's answer to the connection request (the COTP part of the frame).
pub fn connection_confirm(cotp: &[u8]) -> Result<()> {
    if cotp.len() < 7 {
        return Err(ProtocolError::Short(
            "the COTP connection answer",
            cotp.len(),
        ));
    }
    match cotp[1] & 0xF0 {
        0xD0 => Ok(()),
        // Disconnect request: the PLC refuses (its reason byte follows the class).
        0x80 => Err(unexpected(format!(
            "the PLC refused the connection (COTP disconnect, reason {:#04x}): check rack and \
             slot (or the TSAPs), and that the CPU allows connections of this type",
            cotp[6]
        ))),
        code => Err(unexpected(format!(
            "the PLC answered the connection request with COTP code {code:#04x}"
        ))),
    }
}

/// What a COTP data frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataFrame<'a> {
    /// Whether this is the last fragment of the PDU.
    pub last: bool,
    /// Its piece of the S7 PDU.
    pub payload: &'a [u8],
}

/// Parses the COTP part of a data frame.
pub fn data_frame(cotp: &[u8]) -> Result<DataFrame<'_>> {
    if cotp.len() < COTP_DT_LEN {
        return Err(ProtocolError::Short("a COTP data frame", cotp.len()));
    }
    let header_len = usize::from(cotp[0]) + 1;
    match cotp[1] & 0xF0 {
        0xF0 => {}
        0x80 => {
            return Err(unexpected(
                "the PLC closed the connection (COTP disconnect)",
            ));
        }
        code => {
            return Err(unexpected(format!(
                "a COTP frame of code {code:#04x} where data was expected"
            )));
        }
    }
    if header_len < COTP_DT_LEN || header_len > cotp.len() {
        return Err(unexpected(format!(
            "a COTP data header of {header_len} bytes in a frame of {}",
            cotp.len()
        )));
    }
    Ok(DataFrame {
        last: cotp[2] & 0x80 != 0,
        payload: &cotp[header_len..],
    })
}

/// Wraps an S7 PDU in a COTP data frame and a TPKT frame.
fn data(pdu: &[u8]) -> Vec<u8> {
    let mut cotp = Vec::with_capacity(COTP_DT_LEN + pdu.len());
    cotp.extend_from_slice(&[0x02, 0xF0, 0x80]);
    cotp.extend_from_slice(pdu);
    tpkt(&cotp)
}

/// An S7 job (request) header followed by its parameters, in its frames.
fn job(pdu_ref: u16, params: &[u8]) -> Vec<u8> {
    let mut pdu = Vec::with_capacity(JOB_HEADER_LEN + params.len());
    pdu.extend_from_slice(&[0x32, 0x01, 0x00, 0x00]);
    pdu.extend_from_slice(&pdu_ref.to_be_bytes());
    pdu.extend_from_slice(&(params.len() as u16).to_be_bytes());
    pdu.extend_from_slice(&0u16.to_be_bytes());
    pdu.extend_from_slice(params);
    data(&pdu)
}

/// The "setup communication" job asking for PDUs of `pdu_size` bytes, one job at a time.
pub fn setup_communication(pdu_ref: u16, pdu_size: u16) -> Vec<u8> {
    let [p0, p1] = pdu_size.to_be_bytes();
    job(pdu_ref, &[0xF0, 0x00, 0x00, 0x01, 0x00, 0x01, p0, p1])
}

/// An answer's header and sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer<'a> {
    /// The reference of the job it answers.
    pub pdu_ref: u16,
    /// Error class and code of the whole job (`None` when both are 0).
    pub error: Option<(u8, u8)>,
    /// Parameter section.
    pub params: &'a [u8],
    /// Data section.
    pub data: &'a [u8],
}

/// Parses an S7 answer PDU (ack or ack-data).
pub fn answer(pdu: &[u8]) -> Result<Answer<'_>> {
    if pdu.len() < ACK_HEADER_LEN {
        return Err(ProtocolError::Short("an S7 answer", pdu.len()));
    }
    if pdu[0] != 0x32 {
        return Err(unexpected(format!(
            "not an S7comm PDU (protocol id {:#04x}; an S7-1200/1500 with only S7comm-plus \
             enabled answers so)",
            pdu[0]
        )));
    }
    if !matches!(pdu[1], 0x02 | 0x03) {
        return Err(unexpected(format!(
            "an S7 PDU of type {:#04x} where an answer was expected",
            pdu[1]
        )));
    }
    let pdu_ref = u16::from_be_bytes([pdu[4], pdu[5]]);
    let params_len = usize::from(u16::from_be_bytes([pdu[6], pdu[7]]));
    let data_len = usize::from(u16::from_be_bytes([pdu[8], pdu[9]]));
    if ACK_HEADER_LEN + params_len + data_len > pdu.len() {
        return Err(unexpected(format!(
            "an S7 answer announcing {params_len} parameter and {data_len} data bytes in {} bytes",
            pdu.len() - ACK_HEADER_LEN
        )));
    }
    let error = match (pdu[10], pdu[11]) {
        (0, 0) => None,
        pair => Some(pair),
    };
    let params = &pdu[ACK_HEADER_LEN..ACK_HEADER_LEN + params_len];
    let data = &pdu[ACK_HEADER_LEN + params_len..ACK_HEADER_LEN + params_len + data_len];
    Ok(Answer {
        pdu_ref,
        error,
        params,
        data,
    })
}

/// The PDU size the PLC granted, from its answer to "setup communication".
pub fn granted_pdu_size(answer: &Answer<'_>) -> Result<u16> {
    let p = answer.params;
    if p.len() < 8 {
        return Err(ProtocolError::Short("the PDU size negotiation", p.len()));
    }
    if p[0] != 0xF0 {
        return Err(unexpected(format!(
            "function {:#04x} in the answer to the PDU size negotiation",
            p[0]
        )));
    }
    Ok(u16::from_be_bytes([p[6], p[7]]))
}

/// What one item of a read job asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadItem {
    /// Area code (see [`crate::address::Area::code`]).
    pub area: u8,
    /// Data block number (0 outside data blocks).
    pub db: u16,
    /// First byte, or first timer or counter.
    pub start: u32,
    /// Bytes, or timers or counters (2 bytes each).
    pub count: u16,
    /// Whether `start` and `count` count timers or counters rather than bytes.
    pub by_element: bool,
}

impl ReadItem {
    /// The bytes its answer carries.
    pub fn answer_bytes(&self) -> usize {
        usize::from(self.count) * if self.by_element { 2 } else { 1 }
    }
}

/// The read-variable job for `items` (at most 255; the planner keeps far fewer).
pub fn read_request(pdu_ref: u16, items: &[ReadItem]) -> Vec<u8> {
    let mut params = Vec::with_capacity(READ_PARAM_LEN + READ_ITEM_LEN * items.len());
    params.extend_from_slice(&[0x04, items.len() as u8]);
    for item in items {
        // Byte areas are read as BYTE (0x02) at a bit address; timers and counters as
        // themselves (0x1D, 0x1C) at their number.
        let (transport, address) = if item.by_element {
            (item.area, item.start)
        } else {
            (0x02, item.start << 3)
        };
        let [_, a0, a1, a2] = address.to_be_bytes();
        params.extend_from_slice(&[0x12, 0x0A, 0x10, transport]);
        params.extend_from_slice(&item.count.to_be_bytes());
        params.extend_from_slice(&item.db.to_be_bytes());
        params.extend_from_slice(&[item.area, a0, a1, a2]);
    }
    job(pdu_ref, &params)
}

/// The PLC's answer for one item: its bytes, or its return code.
pub type ItemAnswer<'a> = std::result::Result<&'a [u8], u8>;

/// Splits the data of a read answer into the answers of `items` (in order). An item the PLC
/// answers with more bytes than asked is a protocol error; fewer bytes come back as they are.
pub fn read_answer<'a>(answer: &Answer<'a>, items: &[ReadItem]) -> Result<Vec<ItemAnswer<'a>>> {
    let p = answer.params;
    if p.len() < READ_PARAM_LEN {
        return Err(ProtocolError::Short(
            "the parameters of a read answer",
            p.len(),
        ));
    }
    if p[0] != 0x04 {
        return Err(unexpected(format!(
            "function {:#04x} in the answer to a read",
            p[0]
        )));
    }
    if usize::from(p[1]) != items.len() {
        return Err(unexpected(format!(
            "{} items in the answer to a read of {}",
            p[1],
            items.len()
        )));
    }
    let mut data = answer.data;
    let mut answers = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if data.len() < ANSWER_ITEM_HEADER_LEN {
            return Err(ProtocolError::Short("an item of a read answer", data.len()));
        }
        let (code, transport) = (data[0], data[1]);
        let length = usize::from(u16::from_be_bytes([data[2], data[3]]));
        // Bit, byte/word/dword and integer transports count bits; the others count bytes.
        let bytes = match transport {
            0x03..=0x05 => length.div_ceil(8),
            _ => length,
        };
        data = &data[ANSWER_ITEM_HEADER_LEN..];
        if bytes > data.len() {
            return Err(unexpected(format!(
                "item {} of a read answer announces {bytes} bytes and {} follow",
                i + 1,
                data.len()
            )));
        }
        let (value, rest) = data.split_at(bytes);
        data = rest;
        // Items but the last are padded to an even length.
        if bytes % 2 == 1 && i + 1 < items.len() && !data.is_empty() {
            data = &data[1..];
        }
        if code != 0xFF {
            answers.push(Err(code));
            continue;
        }
        if bytes > item.answer_bytes() {
            return Err(unexpected(format!(
                "the PLC answered {bytes} bytes for a read of {}",
                item.answer_bytes()
            )));
        }
        answers.push(Ok(value));
    }
    Ok(answers)
}

/// What an item's return code means.
pub fn item_code_meaning(code: u8) -> &'static str {
    match code {
        0x01 => "hardware fault",
        0x03 => {
            "access denied (on an S7-1200/1500: the data block has optimized block access, or \
             PUT/GET access is not permitted)"
        }
        0x05 => "address out of range",
        0x06 => "data type not supported",
        0x07 => "data type inconsistent",
        0x0A => "object does not exist (no such data block?)",
        _ => "refused",
    }
}

/// What a job's error class and code mean.
pub fn job_error_meaning(class: u8, code: u8) -> String {
    let what = match (class, code) {
        (0x81, 0x04) => "the PLC does not support this request",
        (0x85, 0x00) => "the request does not fit the PDU size",
        (0x87, _) => "access denied",
        (0x84, _) => "protocol error",
        (0x83, _) => "no resources",
        (0x82, _) => "relationship error",
        _ => "refused",
    };
    format!("{what} (error class {class:#04x}, code {code:#04x})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_request_names_both_tsaps() {
        let frame = connection_request(0x0100, 0x0302);
        assert_eq!(tpkt_length(frame[..4].try_into().unwrap()), Ok(frame.len()));
        assert_eq!(frame.len(), 22);
        assert_eq!(&frame[4..6], &[17, 0xE0]);
        assert_eq!(&frame[14..18], &[0xC1, 2, 0x01, 0x00]);
        assert_eq!(&frame[18..22], &[0xC2, 2, 0x03, 0x02]);
        assert!(connection_confirm(&[17, 0xD0, 0, 1, 0, 1, 0]).is_ok());
        let refused = connection_confirm(&[6, 0x80, 0, 1, 0, 1, 0x81]).unwrap_err();
        assert!(refused.to_string().contains("rack and slot"), "{refused}");
        assert!(connection_confirm(&[1, 0xD0]).is_err());
    }

    #[test]
    fn tpkt_headers_are_checked() {
        assert!(tpkt_length([4, 0, 0, 20]).is_err());
        assert!(tpkt_length([3, 0, 0, 3]).is_err());
        assert_eq!(tpkt_length([3, 0, 0xFF, 0xFF]), Ok(65535));
    }

    #[test]
    fn a_read_request_encodes_byte_and_element_items() {
        let frame = read_request(
            7,
            &[
                ReadItem {
                    area: 0x84,
                    db: 1,
                    start: 4,
                    count: 10,
                    by_element: false,
                },
                ReadItem {
                    area: 0x1D,
                    db: 0,
                    start: 5,
                    count: 2,
                    by_element: true,
                },
            ],
        );
        let pdu = &frame[TPKT_LEN + COTP_DT_LEN..];
        assert_eq!(&pdu[..2], &[0x32, 0x01]);
        assert_eq!(u16::from_be_bytes([pdu[4], pdu[5]]), 7);
        assert_eq!(u16::from_be_bytes([pdu[6], pdu[7]]), 2 + 2 * 12);
        let params = &pdu[JOB_HEADER_LEN..];
        assert_eq!(&params[..2], &[0x04, 2]);
        // Byte 4 of DB1 is bit address 32.
        assert_eq!(
            &params[2..14],
            &[0x12, 0x0A, 0x10, 0x02, 0, 10, 0, 1, 0x84, 0, 0, 32]
        );
        assert_eq!(
            &params[14..26],
            &[0x12, 0x0A, 0x10, 0x1D, 0, 2, 0, 0, 0x1D, 0, 0, 5]
        );
    }

    fn ack_data(params: &[u8], data: &[u8]) -> Vec<u8> {
        let mut pdu = vec![0x32, 0x03, 0, 0, 0, 9];
        pdu.extend_from_slice(&(params.len() as u16).to_be_bytes());
        pdu.extend_from_slice(&(data.len() as u16).to_be_bytes());
        pdu.extend_from_slice(&[0, 0]);
        pdu.extend_from_slice(params);
        pdu.extend_from_slice(data);
        pdu
    }

    fn byte_item(count: u16) -> ReadItem {
        ReadItem {
            area: 0x84,
            db: 1,
            start: 0,
            count,
            by_element: false,
        }
    }

    #[test]
    fn a_read_answer_splits_into_items_with_padding_and_errors() {
        // 3 bytes (padded), a refused item, then 2 bytes counted in bytes (octet string).
        let data = [
            0xFF, 0x04, 0, 24, 1, 2, 3, 0, // 24 bits, pad
            0x05, 0x00, 0, 0, // address out of range
            0xFF, 0x09, 0, 2, 7, 8,
        ];
        let pdu = ack_data(&[0x04, 3], &data);
        let a = answer(&pdu).unwrap();
        assert_eq!(a.pdu_ref, 9);
        let items = [byte_item(3), byte_item(4), byte_item(2)];
        let got = read_answer(&a, &items).unwrap();
        assert_eq!(
            got,
            vec![Ok(&[1u8, 2, 3][..]), Err(0x05), Ok(&[7u8, 8][..])]
        );
        // A short answer comes back as it is; a longer one is refused.
        let short = ack_data(&[0x04, 1], &[0xFF, 0x04, 0, 8, 1]);
        assert_eq!(
            read_answer(&answer(&short).unwrap(), &[byte_item(4)]).unwrap(),
            vec![Ok(&[1u8][..])]
        );
        let long = ack_data(&[0x04, 1], &[0xFF, 0x04, 0, 32, 1, 2, 3, 4]);
        let e = read_answer(&answer(&long).unwrap(), &[byte_item(2)]).unwrap_err();
        assert!(
            e.to_string().contains("answered 4 bytes for a read of 2"),
            "{e}"
        );
    }

    #[test]
    fn hostile_answers_are_refused_without_reading_past_the_end() {
        // Announces more than it carries.
        let lying = ack_data(&[0x04, 1], &[0xFF, 0x04, 0xFF, 0xF8, 1]);
        assert!(read_answer(&answer(&lying).unwrap(), &[byte_item(2)]).is_err());
        // Sections longer than the PDU.
        let mut pdu = ack_data(&[0x04, 1], &[]);
        pdu[9] = 200;
        assert!(answer(&pdu).is_err());
        // Wrong item count, wrong function, wrong protocol, too short.
        let two = ack_data(&[0x04, 2], &[0xFF, 0x04, 0, 8, 1, 0, 0xFF, 0x04, 0, 8, 2]);
        assert!(read_answer(&answer(&two).unwrap(), &[byte_item(1)]).is_err());
        let write = ack_data(&[0x05, 1], &[0xFF]);
        assert!(read_answer(&answer(&write).unwrap(), &[byte_item(1)]).is_err());
        let mut not_s7 = ack_data(&[0x04, 1], &[]);
        not_s7[0] = 0x72;
        assert!(
            answer(&not_s7)
                .unwrap_err()
                .to_string()
                .contains("S7comm-plus")
        );
        assert!(answer(&[0x32, 0x03, 0]).is_err());
        assert!(
            read_answer(
                &answer(&ack_data(&[0x04, 1], &[0xFF])).unwrap(),
                &[byte_item(1)]
            )
            .is_err()
        );
        // Every prefix of a valid answer is an error, never a panic.
        let data = [0xFF, 0x04, 0, 24, 1, 2, 3, 0, 0xFF, 0x04, 0, 8, 4];
        let full = ack_data(&[0x04, 2], &data);
        for cut in 0..full.len() {
            if let Ok(a) = answer(&full[..cut]) {
                let _ = read_answer(&a, &[byte_item(3), byte_item(1)]);
            }
        }
    }

    #[test]
    fn the_negotiated_pdu_size_is_read() {
        let pdu = ack_data(&[0xF0, 0, 0, 1, 0, 1, 0x01, 0xE0], &[]);
        assert_eq!(granted_pdu_size(&answer(&pdu).unwrap()), Ok(480));
        let mut refused = ack_data(&[], &[]);
        refused[10] = 0x81;
        refused[11] = 0x04;
        assert_eq!(answer(&refused).unwrap().error, Some((0x81, 0x04)));
        assert!(granted_pdu_size(&answer(&refused).unwrap()).is_err());
    }

    #[test]
    fn data_frames_carry_their_piece_of_the_pdu() {
        let frame = setup_communication(1, 960);
        let cotp = &frame[TPKT_LEN..];
        let d = data_frame(cotp).unwrap();
        assert!(d.last);
        assert_eq!(&d.payload[..2], &[0x32, 0x01]);
        assert_eq!(&d.payload[d.payload.len() - 2..], &960u16.to_be_bytes());
        assert!(data_frame(&[2, 0xF0, 0x00, 1]).is_ok_and(|d| !d.last));
        assert!(data_frame(&[0x20, 0xF0, 0x80]).is_err());
        assert!(
            data_frame(&[6, 0x80, 0, 0, 0, 0, 0])
                .unwrap_err()
                .to_string()
                .contains("closed")
        );
    }
}
